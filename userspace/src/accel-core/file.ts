/**
 * A file of a DRM accel node, driven with the DRM core's ioctls only: what
 * every accel driver answers alike. Errors carry errno, its code and the
 * ioctl or system call.
 */
import { constants } from 'node:fs';
import { DRM_IOCTL_VERSION, DrmVersion, type DriverVersion } from '../drm.js';
import { isNativeError, native } from '../native.js';
import { Struct, type StructDef } from '../struct.js';

/** A failed ioctl or system call on an accel file. */
export class AccelError extends Error {
  override readonly name: string = 'AccelError';

  constructor(
    message: string,
    /** The positive errno value. */
    readonly errno: number,
    /** Its symbolic name, e.g. "EINVAL". */
    readonly code: string,
    /** The ioctl (e.g. "DRM_IOCTL_GEM_CLOSE") or system call that failed. */
    readonly ioctl: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An error of the native binding as an AccelError naming `what`; others pass through. */
export function accelError(err: unknown, what: string): unknown {
  if (!isNativeError(err)) return err;
  return new AccelError(`${what}: ${err.message} (${err.code})`, err.errno, err.code, what, { cause: err });
}

const EBADF = 9;

/**
 * A DRM_IOCTL_VERSION in two calls: `bytes` for the first; fill() points
 * the strings at buffers of the lengths it learnt, for the second, and
 * returns what reads the answer after it.
 */
function versionQuery(): { bytes: Uint8Array; fill: () => () => DriverVersion } {
  const v = new Struct(DrmVersion);
  return {
    bytes: v.bytes,
    fill: () => {
      const strings = (['name', 'date', 'desc'] as const).map((f) => {
        const len = v.num(`${f}_len`);
        const buf = Buffer.alloc(len + 1);
        v.set(f, native().address(buf));
        return { buf, len };
      });
      return () => {
        const [name, date, desc] = strings.map(({ buf, len }) => buf.subarray(0, len).toString('utf8')) as [string, string, string];
        return { name, date, desc, major: v.num('version_major'), minor: v.num('version_minor'), patchlevel: v.num('version_patchlevel') };
      };
    },
  };
}

/** What ioctls are issued on: an AccelFile, or a driver library's own file type with the same calls. */
export interface IoctlFile {
  readonly fd: number;
  ioctl(name: string, request: number, arg: NodeJS.TypedArray | null): number;
  ioctlAsync(name: string, request: number, arg: NodeJS.TypedArray | null): Promise<number>;
}

export class AccelFile implements IoctlFile, Disposable {
  #fd: number;

  private constructor(
    fd: number,
    /** The node this file was opened from. */
    readonly path: string,
  ) {
    this.#fd = fd;
  }

  /** Opens `path` (a /dev/accel node) read-write. */
  static open(path: string): AccelFile {
    try {
      return new AccelFile(native().open(path, constants.O_RDWR), path);
    } catch (err) {
      throw accelError(err, `open ${path}`);
    }
  }

  /** The file descriptor; closed files refuse with EBADF. */
  get fd(): number {
    if (this.#fd < 0) throw new AccelError(`${this.path}: the file is closed`, EBADF, 'EBADF', 'fd');
    return this.#fd;
  }

  /** An ioctl on the calling thread; `name` goes into the error. */
  ioctl(name: string, request: number, arg: NodeJS.TypedArray | null): number {
    const fd = this.fd;
    try {
      return native().ioctl(fd, request, arg);
    } catch (err) {
      throw accelError(err, name);
    }
  }

  /** An ioctl on libuv's thread pool, for one that sleeps or for many at once. */
  async ioctlAsync(name: string, request: number, arg: NodeJS.TypedArray | null): Promise<number> {
    const fd = this.fd;
    try {
      return await native().ioctlAsync(fd, request, arg);
    } catch (err) {
      throw accelError(err, name);
    }
  }

  /** DRM_IOCTL_VERSION: the first call learns the string lengths, the second fills them. */
  version(): DriverVersion {
    const q = versionQuery();
    this.ioctl('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, q.bytes);
    const answer = q.fill();
    this.ioctl('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, q.bytes);
    return answer();
  }

  /** version() on libuv's thread pool, so that many can be in flight at once. */
  async versionAsync(): Promise<DriverVersion> {
    const q = versionQuery();
    await this.ioctlAsync('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, q.bytes);
    const answer = q.fill();
    await this.ioctlAsync('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, q.bytes);
    return answer();
  }

  /** mmap(2) of `length` bytes of the file at `offset`, shared and writable. */
  mmap(offset: bigint, length: number): Uint8Array {
    const fd = this.fd;
    try {
      return new Uint8Array(native().mmap(fd, length, offset, true));
    } catch (err) {
      throw accelError(err, 'mmap');
    }
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    native().close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** An error that says which errno a call failed with: this kit's, the binding's or a library's. */
function errnoCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const { errno, code } = err as Partial<{ errno: unknown; code: unknown }>;
  return typeof errno === 'number' && typeof code === 'string' ? code : undefined;
}

/**
 * The errno code an action fails with, or 'ok'. Any error carrying errno
 * and code counts (this kit's, the binding's, a driver library's); any
 * other error is rethrown.
 */
export function errnoOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const code = errnoCode(err);
    if (code === undefined) throw err;
    return code;
  }
  return 'ok';
}

export async function errnoOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    const code = errnoCode(err);
    if (code === undefined) throw err;
    return code;
  }
  return 'ok';
}

/** Runs an ioctl on a struct with exactly the given fields; returns its errno code or 'ok', and the struct. */
export function raw<F extends string>(
  file: IoctlFile,
  name: string,
  request: number,
  def: StructDef<F>,
  fields: Partial<Record<F, number | bigint>>,
): { code: string; out: Struct<F> } {
  const s = Struct.from(def, fields);
  return { code: errnoOf(() => file.ioctl(name, request, s.bytes)), out: s };
}

/** A buffer of u32 values and its address, for pointer fields. */
export function u32Array(values: readonly number[]): { buf: Buffer; addr: bigint } {
  const buf = Buffer.alloc(Math.max(4, values.length * 4));
  values.forEach((v, i) => buf.writeUInt32LE(v >>> 0, i * 4));
  return { buf, addr: native().address(buf) };
}

/** An address no process maps: the kernel answers EFAULT. */
export const BAD_POINTER = 0xdead_0000_0000n;
