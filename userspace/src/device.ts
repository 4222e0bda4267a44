/** An open ossa device node: /dev/accel/accelN. */
import { constants } from 'node:fs';
import { DRM_IOCTL_VERSION, DRM_VERSION_SIZE, DrmVersionLayout as L, type DriverVersion } from './drm.js';
import { OssaError, wrapNativeError } from './errors.js';
import { native } from './native.js';

const EBADF = 9;

export class Device implements Disposable {
  #fd: number;

  private constructor(
    fd: number,
    /** The device node this was opened from. */
    readonly path: string,
  ) {
    this.#fd = fd;
  }

  /** Opens a device node (read-write, close-on-exec). */
  static open(path = '/dev/accel/accel0'): Device {
    try {
      return new Device(native().open(path, constants.O_RDWR), path);
    } catch (err) {
      throw wrapNativeError(err, 'open', path);
    }
  }

  /** The file descriptor; throws once the device is closed. */
  get fd(): number {
    if (this.#fd < 0) throw new OssaError(`${this.path} is closed`, EBADF, 'EBADF', 'fd');
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Runs a non-sleeping ioctl, turning failures into OssaError. */
  ioctl(name: string, request: number, arg: Uint8Array | null): number {
    try {
      return native().ioctl(this.fd, request, arg);
    } catch (err) {
      throw wrapNativeError(err, name, this.path);
    }
  }

  /** DRM_IOCTL_VERSION: the driver's name, version, date and description. */
  version(): DriverVersion {
    // First call learns the string lengths, the second fills them in.
    const arg = Buffer.alloc(DRM_VERSION_SIZE);
    this.ioctl('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, arg);
    const lengths = [L.name_len, L.date_len, L.desc_len].map((off) => Number(arg.readBigUInt64LE(off)));
    const strings = lengths.map((len) => Buffer.alloc(len + 1));
    const n = native();
    [L.name, L.date, L.desc].forEach((off, i) => {
      const s = strings[i] as Buffer;
      arg.writeBigUInt64LE(n.address(s), off);
      arg.writeBigUInt64LE(BigInt(s.length - 1), off - 8);
    });
    this.ioctl('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, arg);
    const text = (i: number): string => {
      const len = Number(arg.readBigUInt64LE([L.name_len, L.date_len, L.desc_len][i] as number));
      return (strings[i] as Buffer).subarray(0, len).toString('utf8');
    };
    return {
      name: text(0),
      date: text(1),
      desc: text(2),
      major: arg.readInt32LE(L.version_major),
      minor: arg.readInt32LE(L.version_minor),
      patchlevel: arg.readInt32LE(L.version_patchlevel),
    };
  }

  /** Closes the file descriptor; closing twice is a no-op. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      native().close(fd);
    } catch (err) {
      throw wrapNativeError(err, 'close', this.path);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
