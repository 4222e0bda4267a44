/**
 * The native binding (userspace/native/ossa_native.c): open, close, ioctl
 * and the address of a buffer, for the few system calls Node.js lacks.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The binding's functions, as ossa_native.c defines them. */
export interface NativeBinding {
  /** open(2) with O_CLOEXEC added. */
  open(path: string, flags: number): number;
  close(fd: number): void;
  /** A non-sleeping ioctl, run on the calling thread. */
  ioctl(fd: number, request: number, arg: Uint8Array | null): number;
  /** An ioctl that may sleep, run on libuv's thread pool. */
  ioctlAsync(fd: number, request: number, arg: Uint8Array | null): Promise<number>;
  /** The address of a buffer's bytes, for __u64 user pointers. */
  address(buf: NodeJS.TypedArray): bigint;
  /** Maps `length` bytes of `fd` at `offset` (MAP_SHARED), without copying. */
  mmap(fd: number, length: number, offset: bigint, writable: boolean): ArrayBuffer;
  /** Unmaps what mmap() returned and detaches it; again is a no-op. */
  munmap(mapping: ArrayBuffer): void;
  /**
   * Resolves true when `fd` becomes readable, false after `timeoutMs`;
   * waits on the event loop (libuv poll), with no thread. The fd must
   * stay open until the promise settles.
   */
  pollReadable(fd: number, timeoutMs: number): Promise<boolean>;
}

/** The shape of the errors the binding throws, like Node's own. */
export interface NativeError extends Error {
  errno: number;
  code: string;
  syscall: string;
}

export function isNativeError(err: unknown): err is NativeError {
  return err instanceof Error && typeof (err as Partial<NativeError>).errno === 'number';
}

function bindingPath(): string {
  const fromEnv = process.env.OSSA_NATIVE_BINDING;
  if (fromEnv) return fromEnv;
  const candidates = ['../build/ossa_native.node', '../../build/ossa_native.node'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `ossa native binding not found (looked in ${candidates.join(', ')}); ` +
        'build it with `npm run build` or set OSSA_NATIVE_BINDING',
    );
  }
  return found;
}

let binding: NativeBinding | undefined;

/** Loads the binding on first use. */
export function native(): NativeBinding {
  binding ??= createRequire(import.meta.url)(bindingPath()) as NativeBinding;
  return binding;
}
