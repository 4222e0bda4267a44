/**
 * Buffer objects: device memory that the CPU maps and the device reaches at
 * its VA in this file's address space.
 */
import { performance } from 'node:perf_hooks';
import { DRM_IOCTL_GEM_CLOSE, DrmGemClose } from './drm.js';
import { isDeviceGone, OssaError, wrapNativeError } from './errors.js';
import type { Device } from './device.js';
import { waitFd } from './fd-wait.js';
import { native } from './native.js';
import { Struct } from './struct.js';
import { spans } from './trace/spans.js';
import {
  DRM_IOCTL_OSSA_BO_INFO,
  DRM_IOCTL_OSSA_BO_MMAP_OFFSET,
  DRM_IOCTL_OSSA_BO_WAIT,
  DrmOssaBoInfo,
  DrmOssaBoMmapOffset,
  DrmOssaBoWait,
  JOB_STATUS_NAMES,
  type JobStatus,
} from './uapi.js';

const EBADF = 9;
const ETIMEDOUT = 110;

export interface BufferOptions {
  /** The device may read the buffer but not write it (writes fault). */
  deviceReadOnly?: boolean;
}

export interface BufferInfo {
  handle: number;
  size: number;
  va: bigint;
  deviceReadOnly: boolean;
}

export class DeviceBuffer implements Disposable {
  #handle: number;
  #mapping: ArrayBuffer | undefined;

  /** @internal Use Device.createBuffer() or Device.importBuffer(). */
  constructor(
    readonly device: Device,
    handle: number,
    /** Bytes (a multiple of the page size). */
    readonly size: number,
    /** The device VA of the first byte, in this file's address space. */
    readonly va: bigint,
  ) {
    this.#handle = handle;
  }

  /** The GEM handle; throws once the buffer is closed. */
  get handle(): number {
    if (this.#handle === 0) throw new OssaError('buffer is closed', EBADF, 'EBADF', 'handle');
    return this.#handle;
  }

  get closed(): boolean {
    return this.#handle === 0;
  }

  /** DRM_IOCTL_OSSA_BO_INFO. */
  info(): BufferInfo {
    const s = Struct.from(DrmOssaBoInfo, { handle: this.handle });
    this.device.ioctl('DRM_IOCTL_OSSA_BO_INFO', DRM_IOCTL_OSSA_BO_INFO, s.bytes);
    return {
      handle: this.handle,
      size: s.num('size'),
      va: s.big('va'),
      deviceReadOnly: (s.num('flags') & 0x1) !== 0,
    };
  }

  /** The offset to mmap() at (DRM_IOCTL_OSSA_BO_MMAP_OFFSET). */
  mmapOffset(): bigint {
    const s = Struct.from(DrmOssaBoMmapOffset, { handle: this.handle });
    this.device.ioctl('DRM_IOCTL_OSSA_BO_MMAP_OFFSET', DRM_IOCTL_OSSA_BO_MMAP_OFFSET, s.bytes);
    return s.big('offset');
  }

  /**
   * Waits until no job uses the buffer. Resolves with the status of the
   * last job that listed it for writing ('success', 'mmu-fault',
   * 'invalid', 'error', 'hung' when it timed out and the device was reset,
   * 'canceled'), or 'timeout' when jobs still use the buffer after
   * `timeoutMs`. `signal` aborts the wait (it rejects with the signal's
   * reason), and so does closing the device (EBADF).
   *
   * The wait holds no thread: it polls a dma-buf of the buffer on the event
   * loop (writable once no fence of the buffer is pending), then reads the
   * status with DRM_IOCTL_OSSA_BO_WAIT at a deadline that has passed. A
   * buffer waited on while busy is thus exported, and fdinfo counts it
   * among drm-shared-* from then on.
   */
  async wait(timeoutMs: number, options: { signal?: AbortSignal } = {}): Promise<JobStatus | 'timeout'> {
    const traceBegin = spans ? spans.now() : 0;
    try {
      return await this.#wait(timeoutMs, options);
    } finally {
      spans?.add('buffer-wait', traceBegin, 0);
    }
  }

  async #wait(timeoutMs: number, options: { signal?: AbortSignal }): Promise<JobStatus | 'timeout'> {
    const signals = [options.signal, this.device.closeSignal];
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const s of signals) s?.throwIfAborted();
      const status = this.#statusNow();
      if (status !== undefined) return status;
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      const fd = this.device.exportBuffer(this);
      try {
        if (!(await waitFd(fd, 'writable', left, signals))) return 'timeout';
      } finally {
        native().close(fd);
      }
      // Idle when polled; a job queued since then makes it busy again.
    }
  }

  /** Whether no job uses the buffer now (DRM_IOCTL_OSSA_BO_WAIT, no waiting). */
  isIdle(): boolean {
    return this.#statusNow() !== undefined;
  }

  /** DRM_IOCTL_OSSA_BO_WAIT at a deadline that has passed: the status, or undefined while busy. */
  #statusNow(): JobStatus | undefined {
    const s = Struct.from(DrmOssaBoWait, { handle: this.handle });
    try {
      this.device.ioctl('DRM_IOCTL_OSSA_BO_WAIT', DRM_IOCTL_OSSA_BO_WAIT, s.bytes);
    } catch (err) {
      if (err instanceof OssaError && err.errno === ETIMEDOUT) return undefined;
      throw err;
    }
    return JOB_STATUS_NAMES[s.num('job_status')] ?? 'error';
  }

  /**
   * The buffer's memory as a Uint8Array over the CPU mapping: no copy. The
   * mapping is made on first use and lives until close().
   */
  map(): Uint8Array {
    if (!this.#mapping) {
      const offset = this.mmapOffset();
      try {
        this.#mapping = native().mmap(this.device.fd, this.size, offset, true);
      } catch (err) {
        throw wrapNativeError(err, 'mmap', this.device.path);
      }
    }
    return new Uint8Array(this.#mapping);
  }

  /**
   * Unmaps and closes the handle (DRM_IOCTL_GEM_CLOSE). Views from map()
   * become empty. A job still using the buffer keeps it alive in the kernel.
   * Once the device is gone (ENODEV) there is no handle left to close, and
   * this does not throw.
   */
  close(): void {
    if (this.#handle === 0) return;
    if (this.#mapping) {
      native().munmap(this.#mapping);
      this.#mapping = undefined;
    }
    const handle = this.#handle;
    this.#handle = 0;
    if (this.device.closed) return;
    const s = Struct.from(DrmGemClose, { handle });
    try {
      this.device.ioctl('DRM_IOCTL_GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, s.bytes);
    } catch (err) {
      // A device that is gone took its handles with it.
      if (!isDeviceGone(err)) throw err;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
