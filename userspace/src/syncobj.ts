/**
 * DRM sync objects: a job's completion as a handle. A Fence is what
 * Device.submit() returns. Waits poll a file descriptor on the event loop
 * (an eventfd the syncobj signals, or a sync_file of its fence): they
 * neither block the event loop nor hold a thread of libuv's pool.
 */
import {
  DRM_IOCTL_SYNCOBJ_DESTROY,
  DRM_IOCTL_SYNCOBJ_EVENTFD,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_RESET,
  DRM_IOCTL_SYNCOBJ_SIGNAL,
  DRM_IOCTL_SYNCOBJ_QUERY,
  DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
  DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
  DRM_IOCTL_SYNCOBJ_TRANSFER,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DrmSyncobjArray,
  DrmSyncobjDestroy,
  DrmSyncobjEventfd,
  DrmSyncobjHandle,
  DrmSyncobjTimelineArray,
  DrmSyncobjTimelineWait,
  DrmSyncobjTransfer,
  SYNC_IOC_FILE_INFO,
  SyncFileInfo,
} from './drm.js';
import type { Device } from './device.js';
import { isDeviceGone, OssaError, wrapNativeError } from './errors.js';
import { waitFd } from './fd-wait.js';
import { native } from './native.js';
import { Struct } from './struct.js';
import { spans } from './trace/spans.js';

const EBADF = 9;
const ETIME = 62;

/** Options of a wait. */
export interface WaitOptions {
  /** Also wait for a fence (or the point) to be attached first. */
  forSubmit?: boolean;
  /** Aborts the wait: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The state of a fence: pending, signalled, or failed with an errno. */
export type FenceState = { state: 'pending' } | { state: 'signaled' } | { state: 'error'; errno: number };

export class Syncobj implements Disposable {
  #handle: number;
  /** Whether close() may give the handle back to the device's pool. */
  #poolable: boolean;
  /** Waits of this object under way. */
  #waits = 0;
  /** exportSyncFile()'s argument, made on first use. */
  #exportArg: Struct<'handle' | 'flags' | 'fd' | 'pad'> | undefined;
  /** SYNC_IOC_FILE_INFO's argument, made on first use. */
  #infoArg: Struct<'name' | 'status' | 'flags' | 'num_fences' | 'pad' | 'sync_fence_info'> | undefined;

  /** @internal Use Device.createSyncobj() or Device.importSyncobj(). */
  constructor(
    readonly device: Device,
    handle: number,
    /** Whether close() destroys the handle (false: another object owns it). */
    private readonly owned = true,
    /** Whether the handle came from the device's pool (Device.submit()), to go back to it. */
    pooled = false,
  ) {
    this.#handle = handle;
    this.#poolable = pooled;
  }

  /** @internal Another object names the handle too (Device.submit's Fence over it): never pool it. */
  keepHandle(): void {
    this.#poolable = false;
  }

  /** Counts a wait under way, which keeps close() from pooling the handle. */
  protected async waiting<T>(wait: Promise<T>): Promise<T> {
    const traceBegin = spans ? spans.now() : 0;
    this.#waits++;
    try {
      return await wait;
    } finally {
      this.#waits--;
      spans?.add('wait', traceBegin, this.traceSeq);
    }
  }

  /** @internal For a trace: the number of the submit whose job's fence this is (0: none, or not traced). */
  traceSeq = 0;

  get handle(): number {
    if (this.#handle === 0) throw new OssaError('syncobj is destroyed', EBADF, 'EBADF', 'handle');
    return this.#handle;
  }

  get closed(): boolean {
    return this.#handle === 0;
  }

  /**
   * Waits until the syncobj's fence signals (resolves true) or `timeoutMs`
   * passes (resolves false). With `forSubmit`, also waits for a fence to be
   * attached first; without, a syncobj with no fence is EINVAL. `signal`
   * aborts the wait (it rejects with the signal's reason), and so does
   * closing the device (EBADF).
   */
  async wait(timeoutMs: number, options: WaitOptions = {}): Promise<boolean> {
    return this.waiting(this.#wait(0n, timeoutMs, options));
  }

  /**
   * Waits until point `point` of the syncobj's timeline signals (resolves
   * true) or `timeoutMs` passes (resolves false). With `forSubmit`, also
   * waits for the point to be added first. Aborts as wait() does.
   */
  async waitPoint(point: bigint, timeoutMs: number, options: WaitOptions = {}): Promise<boolean> {
    return this.waiting(this.#wait(point, timeoutMs, options));
  }

  /**
   * A binary syncobj's fence, without WAIT_FOR_SUBMIT: a sync_file of it
   * (none: EINVAL), polled on the event loop; one ioctl. Otherwise
   * DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT at a deadline that has passed answers
   * at once: signalled, or not yet (ETIME); then DRM_IOCTL_SYNCOBJ_EVENTFD
   * has the kernel signal an eventfd when the point signals (once it is
   * added, if it is not yet), which the event loop polls. An eventfd
   * registered by a wait that timed out stays with the syncobj, holding a
   * few bytes, until the point signals or the syncobj is destroyed.
   */
  async #wait(point: bigint, timeoutMs: number, options: WaitOptions): Promise<boolean> {
    const signals = [options.signal, this.device.closeSignal];
    for (const s of signals) s?.throwIfAborted();
    if (point === 0n && !options.forSubmit) {
      const fd = this.exportSyncFile();
      try {
        return await waitFd(fd, 'readable', timeoutMs, signals);
      } finally {
        native().close(fd);
      }
    }
    if (this.#signaledNow(point, options.forSubmit ?? false)) return true;
    if (timeoutMs <= 0) return false;
    const efd = native().eventfd();
    try {
      const s = Struct.from(DrmSyncobjEventfd, { handle: this.handle, point, fd: efd });
      this.device.ioctl('DRM_IOCTL_SYNCOBJ_EVENTFD', DRM_IOCTL_SYNCOBJ_EVENTFD, s.bytes);
      return await waitFd(efd, 'readable', timeoutMs, signals);
    } finally {
      native().close(efd);
    }
  }

  /** Whether the point has signalled, without waiting; EINVAL (unless forSubmit) when it has no fence yet. */
  #signaledNow(point: bigint, forSubmit: boolean): boolean {
    const mem = Buffer.alloc(DrmSyncobjTimelineWait.size + 16);
    const handles = mem.subarray(DrmSyncobjTimelineWait.size);
    const points = mem.subarray(DrmSyncobjTimelineWait.size + 8);
    handles.writeUInt32LE(this.handle, 0);
    points.writeBigUInt64LE(point, 0);
    new Struct(DrmSyncobjTimelineWait, mem)
      .set('handles', native().address(handles))
      .set('points', native().address(points))
      .set('count_handles', 1)
      .set('flags', forSubmit ? DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT : 0);
    try {
      this.device.ioctl('DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, mem);
      return true;
    } catch (err) {
      if (err instanceof OssaError && err.errno === ETIME) return false;
      throw err;
    }
  }

  /** The last signalled point of the syncobj's timeline (DRM_IOCTL_SYNCOBJ_QUERY). */
  signaledPoint(): bigint {
    return this.#timeline('DRM_IOCTL_SYNCOBJ_QUERY', DRM_IOCTL_SYNCOBJ_QUERY, 0n);
  }

  /** Signals point `point` of the syncobj's timeline now (DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL). */
  signalPoint(point: bigint): void {
    this.#timeline('DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, point);
  }

  /**
   * Puts the fence at point `from` of this syncobj (0: its fence) into
   * `to`: at point `at` of its timeline, or, for 0, in place of its fence
   * (DRM_IOCTL_SYNCOBJ_TRANSFER).
   */
  transferTo(to: Syncobj, at = 0n, from = 0n): void {
    const s = Struct.from(DrmSyncobjTransfer, { src_handle: this.handle, dst_handle: to.handle, src_point: from, dst_point: at });
    this.device.ioctl('DRM_IOCTL_SYNCOBJ_TRANSFER', DRM_IOCTL_SYNCOBJ_TRANSFER, s.bytes);
  }

  #timeline(name: string, request: number, point: bigint): bigint {
    const handles = new Uint32Array([this.handle]);
    const points = new BigUint64Array([point]);
    const s = Struct.from(DrmSyncobjTimelineArray, {
      handles: native().address(handles),
      points: native().address(points),
      count_handles: 1,
    });
    this.device.ioctl(name, request, s.bytes);
    return points[0] as bigint;
  }

  /** Signals the syncobj now (DRM_IOCTL_SYNCOBJ_SIGNAL). */
  signal(): void {
    this.#array('DRM_IOCTL_SYNCOBJ_SIGNAL', DRM_IOCTL_SYNCOBJ_SIGNAL);
  }

  /** Removes its fence (DRM_IOCTL_SYNCOBJ_RESET). */
  reset(): void {
    this.#array('DRM_IOCTL_SYNCOBJ_RESET', DRM_IOCTL_SYNCOBJ_RESET);
  }

  #array(name: string, request: number): void {
    const handles = new Uint32Array([this.handle]);
    const s = Struct.from(DrmSyncobjArray, { handles: native().address(handles), count_handles: 1 });
    this.device.ioctl(name, request, s.bytes);
  }

  /** An fd for the syncobj itself, to share with another process or file. */
  exportFd(): number {
    // Shared: its handle must never carry another job's fence.
    this.#poolable = false;
    const s = Struct.from(DrmSyncobjHandle, { handle: this.handle, flags: 0, fd: -1 });
    this.device.ioctl('DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, s.bytes);
    return s.num('fd');
  }

  /** A sync_file fd holding its current fence; EINVAL when it has none. */
  exportSyncFile(): number {
    const s = (this.#exportArg ??= new Struct(DrmSyncobjHandle));
    s.set('handle', this.handle).set('flags', DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE).set('fd', -1).set('pad', 0);
    this.device.ioctl('DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, s.bytes);
    return s.num('fd');
  }

  /**
   * Replaces its fence with the one a sync_file fd holds (a fence of any
   * driver: the way a job waits for another device's work). The fd stays
   * the caller's.
   */
  importSyncFile(fd: number): void {
    // Its fence is now another's: never hand the handle to a later job.
    this.#poolable = false;
    const s = Struct.from(DrmSyncobjHandle, {
      handle: this.handle,
      flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
      fd,
    });
    this.device.ioctl('DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, s.bytes);
  }

  /** The state of its fence, read through a sync_file's status. */
  state(): FenceState {
    const fd = this.exportSyncFile();
    try {
      return this.syncFileState(fd);
    } finally {
      native().close(fd);
    }
  }

  /** The state of the fence a sync_file fd holds (SYNC_IOC_FILE_INFO). */
  protected syncFileState(fd: number): FenceState {
    const info = (this.#infoArg ??= new Struct(SyncFileInfo));
    info.bytes.fill(0);
    try {
      native().ioctl(fd, SYNC_IOC_FILE_INFO, info.bytes);
    } catch (err) {
      throw wrapNativeError(err, 'SYNC_IOC_FILE_INFO', this.device.path);
    }
    const status = info.num('status');
    if (status === 0) return { state: 'pending' };
    if (status > 0) return { state: 'signaled' };
    return { state: 'error', errno: -status };
  }

  /**
   * Destroys the handle (DRM_IOCTL_SYNCOBJ_DESTROY); again is a no-op, and
   * so is a device that is gone (ENODEV). A Fence of Device.submit() whose
   * syncobj was never exported and has no wait under way gives it back to
   * the device instead, for a later job's fence.
   */
  close(): void {
    if (this.#handle === 0) return;
    const handle = this.#handle;
    this.#handle = 0;
    if (this.device.closed || !this.owned) return;
    if (this.#poolable && this.#waits === 0 && this.device.recycleSyncobj(handle)) return;
    const s = Struct.from(DrmSyncobjDestroy, { handle });
    try {
      this.device.ioctl('DRM_IOCTL_SYNCOBJ_DESTROY', DRM_IOCTL_SYNCOBJ_DESTROY, s.bytes);
    } catch (err) {
      // A device that is gone took its handles with it.
      if (!isDeviceGone(err)) throw err;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A job's completion: the syncobj Device.submit() attached the job's fence
 * to. Waits poll a sync_file of that fence on the event loop itself.
 */
export class Fence extends Syncobj {
  /**
   * Waits for the job, up to `timeoutMs`; resolves with its outcome:
   * 'signaled' for success, 'error' with the errno the job failed with
   * (EFAULT: MMU fault, EINVAL: bad command, ETIMEDOUT: hang and reset,
   * ECANCELED: context banned, EIO: other device error), or 'pending'
   * when it is still running at the timeout.
   */
  async settle(timeoutMs: number, options: { signal?: AbortSignal } = {}): Promise<FenceState> {
    return this.waiting(this.#settle(timeoutMs, options));
  }

  async #settle(timeoutMs: number, options: { signal?: AbortSignal }): Promise<FenceState> {
    const signals = [options.signal, this.device.closeSignal];
    for (const s of signals) s?.throwIfAborted();
    // The sync_file holds the job's fence even if the syncobj is reset.
    const fd = this.exportSyncFile();
    try {
      const now = this.syncFileState(fd);
      if (now.state !== 'pending' || timeoutMs <= 0) return now;
      if (!(await waitFd(fd, 'readable', timeoutMs, signals))) return { state: 'pending' };
      return this.syncFileState(fd);
    } finally {
      native().close(fd);
    }
  }

  override async wait(timeoutMs: number, options: WaitOptions = {}): Promise<boolean> {
    if (options.forSubmit) return super.wait(timeoutMs, options);
    return (await this.settle(timeoutMs, options)).state !== 'pending';
  }
}

