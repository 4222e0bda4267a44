/**
 * The native binding (userspace/native/ossa_native.c): open, close, ioctl,
 * mmap, eventfd, the address of a buffer and a wait for a file descriptor,
 * for the few system calls Node.js lacks.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The binding's functions, as ossa_native.c defines them. */
export interface NativeBinding {
  /**
   * open(2) with O_CLOEXEC added. The binding closes what is still open
   * when its environment ends (a Worker exits).
   */
  open(path: string, flags: number): number;
  close(fd: number): void;
  /**
   * An ioctl that does not sleep for long, run on the calling thread; an
   * argument shorter than the size the request encodes is refused with
   * EINVAL. Retried on EINTR, not on EAGAIN.
   */
  ioctl(fd: number, request: number, arg: NodeJS.TypedArray | null): number;
  /**
   * An ioctl whose argument is a number, not a pointer (VFIO_SET_IOMMU):
   * a request that encodes a size or a direction is refused (EINVAL).
   */
  ioctlValue(fd: number, request: number, value: number): number;
  /**
   * An ioctl on libuv's thread pool, on a duplicate of `fd` made at the
   * call: for several ioctls of one process in the kernel at once. It
   * holds a pool thread while it sleeps; the library's waits do not use it.
   */
  ioctlAsync(fd: number, request: number, arg: NodeJS.TypedArray | null): Promise<number>;
  /** A non-blocking, close-on-exec eventfd with counter 0. */
  eventfd(): number;
  /** An anonymous shmem file of `size` bytes (memfd_create, close-on-exec), to map shared. */
  memfd(name: string, size: number): number;
  /** The address of a buffer's bytes, for __u64 user pointers. */
  address(buf: NodeJS.TypedArray): bigint;
  /** Maps `length` bytes of `fd` at `offset` (MAP_SHARED), without copying. */
  mmap(fd: number, length: number, offset: bigint, writable: boolean): ArrayBuffer;
  /** Unmaps what mmap() returned and detaches it; again is a no-op. */
  munmap(mapping: ArrayBuffer): void;
  /**
   * Waits on the event loop (libuv poll, no thread) until `fd` is readable
   * (or writable), `timeoutMs` passes, or pollCancel(id) is called: `done`
   * resolves with 1, 0 or -1. The fd must stay open until `done` settles.
   */
  pollStart(fd: number, writable: boolean, timeoutMs: number): { id: number; done: Promise<number> };
  /** Ends a wait of pollStart() (its `done` resolves -1); false if it had ended. */
  pollCancel(id: number): boolean;
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

/**
 * OSSA_NATIVE_BINDING, or the addon the package ships for this platform
 * (prebuilds/<platform>-<arch>/ beside dist/).
 */
function bindingPath(): string {
  const fromEnv = process.env.OSSA_NATIVE_BINDING;
  if (fromEnv) return fromEnv;
  const prebuilt = fileURLToPath(new URL(`../prebuilds/${process.platform}-${process.arch}/ossa_native.node`, import.meta.url));
  if (!existsSync(prebuilt)) {
    throw new Error(
      `ossa native binding not found: no ${prebuilt} (the package ships linux-x64 only); ` +
        'build userspace/native/ossa_native.c and set OSSA_NATIVE_BINDING to it',
    );
  }
  return prebuilt;
}

let binding: NativeBinding | undefined;

/** Loads the binding on first use. */
export function native(): NativeBinding {
  binding ??= createRequire(import.meta.url)(bindingPath()) as NativeBinding;
  return binding;
}
