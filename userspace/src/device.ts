/** An open ossa device node, /dev/accel/accelN, and everything done through it. */
import { constants, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DeviceBuffer, type BufferOptions } from './buffer.js';
import { CommandStream } from './commands.js';
import { accelNodes } from './discovery.js';
import { type FdUsage, fdUsage } from './fdinfo.js';
import {
  DRM_CLOEXEC,
  DRM_IOCTL_PRIME_FD_TO_HANDLE,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_VERSION,
  DRM_RDWR,
  DRM_SYNCOBJ_CREATE_SIGNALED,
  type DriverVersion,
  DrmPrimeHandle,
  DrmSyncobjCreate,
  DrmSyncobjHandle,
  DrmVersion,
} from './drm.js';
import { OssaError, SubmitError, wrapNativeError } from './errors.js';
import { native } from './native.js';
import { Struct } from './struct.js';
import { Fence, Syncobj } from './syncobj.js';
import {
  DRM_IOCTL_OSSA_BO_CREATE,
  DRM_IOCTL_OSSA_BO_INFO,
  DRM_IOCTL_OSSA_GET_PARAM,
  DRM_IOCTL_OSSA_SUBMIT,
  DrmOssaBoCreate,
  DrmOssaBoInfo,
  DrmOssaBoRef,
  DrmOssaGetParam,
  DrmOssaJob,
  DrmOssaSubmit,
  DrmOssaSync,
  OSSA_CONSTANTS as C,
  OSSA_UAPI_MAJOR,
  Param,
  type ParamName,
} from './uapi.js';

const EBADF = 9;
const ENODEV = 19;
const EPROTONOSUPPORT = 93;
const PAGE = 4096;

/** What Device.info() reports. */
export interface DeviceInfo {
  path: string;
  driver: DriverVersion;
  hwVersion: { major: number; minor: number };
  numQueues: number;
  vaStart: bigint;
  vaSize: bigint;
  maxCmdSize: number;
  maxBoSize: number;
  /** How long a job may run before it fails with ETIMEDOUT, ms. */
  jobTimeoutMs: number;
}

/** A buffer a job uses, and how. */
export interface BufferUse {
  buffer: DeviceBuffer;
  access: 'read' | 'write' | 'readwrite';
}

/** A point on a timeline syncobj. */
export interface TimelinePoint {
  syncobj: Syncobj;
  point: bigint;
}

/** One job for Device.submit() / submitBatch(). */
export interface JobSpec {
  /** Hardware queue (default 0). */
  queue?: number;
  /** The command stream, encoded or as a builder. */
  commands: CommandStream | Uint8Array;
  /** The buffers the commands use; plain buffers count as read-write. */
  buffers?: ReadonlyArray<BufferUse | DeviceBuffer>;
  /**
   * Syncobjs, or points of timeline syncobjs, to wait for before the job
   * runs; each must hold its fence (or point) already.
   */
  waitFor?: ReadonlyArray<Syncobj | TimelinePoint>;
  /**
   * A syncobj to receive the job's fence, which the returned Fence then
   * reads; or a timeline point to add it at, besides a new Fence. Default:
   * a new Fence.
   */
  signal?: Syncobj | TimelinePoint;
}

const ACCESS_FLAGS = {
  read: C.DRM_OSSA_BO_REF_READ,
  write: C.DRM_OSSA_BO_REF_WRITE,
  readwrite: C.DRM_OSSA_BO_REF_READ | C.DRM_OSSA_BO_REF_WRITE,
} as const;

/** Command buffers of at most this size are pooled and reused. */
const CMD_POOL_BO_SIZE = 64 << 10;
const CMD_POOL_MAX = 32;

export class Device implements Disposable {
  #fd: number;
  /** Command buffers, reused once their last job is done. */
  #cmdPool: DeviceBuffer[] = [];
  #paramArg = new Struct(DrmOssaGetParam);
  /** Aborted by close(): every wait on the device's objects ends with EBADF. */
  #closing = new AbortController();

  private constructor(
    fd: number,
    /** The device node this was opened from. */
    readonly path: string,
  ) {
    this.#fd = fd;
  }

  /**
   * Opens a device node (read-write, close-on-exec). Without a path, opens
   * the first /dev/accel node whose driver sysfs names as ossa, skipping
   * those it cannot open (e.g. EACCES); other drivers' nodes are never
   * opened. Throws ENODEV when there is no ossa node, or the first
   * node's error, with every node's, when none could be opened.
   */
  static open(path?: string): Device {
    if (path !== undefined) return Device.#checked(Device.#openPath(path));
    const nodes = accelNodes();
    const failures: OssaError[] = [];
    for (const node of nodes.filter((n) => n.driver === 'ossa')) {
      try {
        return Device.#checked(Device.#openPath(node.path));
      } catch (err) {
        if (!(err instanceof OssaError)) throw err;
        failures.push(err);
      }
    }
    const first = failures[0];
    if (first) {
      throw new OssaError(
        `no ossa device could be opened: ${failures.map((e) => e.message).join('; ')}`,
        first.errno,
        first.code,
        first.ioctl,
        { cause: first },
      );
    }
    const others = nodes.map((n) => `${n.path} (${n.driver ?? 'no driver'})`);
    throw new OssaError(
      `no ossa device: no /dev/accel node is bound to the ossa driver${others.length ? ` (${others.join(', ')})` : ''}`,
      ENODEV,
      'ENODEV',
      'open',
    );
  }

  /**
   * An ossa driver of another uapi version would misread every struct:
   * refused with EPROTONOSUPPORT. Other drivers' nodes pass (the core ioctls
   * work on any accel node).
   */
  static #checked(dev: Device): Device {
    const v = dev.version();
    if (v.name !== 'ossa' || v.major === OSSA_UAPI_MAJOR) return dev;
    dev.close();
    throw new OssaError(
      `${dev.path}: the ossa driver ${v.major}.${v.minor}.${v.patchlevel} speaks uapi ${v.major}; this library speaks uapi ${OSSA_UAPI_MAJOR}`,
      EPROTONOSUPPORT,
      'EPROTONOSUPPORT',
      'DRM_IOCTL_VERSION',
    );
  }

  static #openPath(path: string): Device {
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

  /** @internal Aborted when the device is closed, with an EBADF OssaError. */
  get closeSignal(): AbortSignal {
    return this.#closing.signal;
  }

  /**
   * Runs an ioctl that does not sleep for long, turning failures into
   * OssaError; an argument shorter than the request's size is EINVAL.
   */
  ioctl(name: string, request: number, arg: NodeJS.TypedArray | null): number {
    try {
      return native().ioctl(this.fd, request, arg);
    } catch (err) {
      throw wrapNativeError(err, name, this.path);
    }
  }

  /**
   * Runs an ioctl on libuv's thread pool, for several of one process in
   * the kernel at once: it holds a pool thread for as long as the ioctl
   * sleeps (the library's own waits never do), on a duplicate of the fd
   * made now, so that close() cannot redirect it to another file.
   */
  async ioctlAsync(name: string, request: number, arg: NodeJS.TypedArray | null): Promise<number> {
    try {
      return await native().ioctlAsync(this.fd, request, arg);
    } catch (err) {
      throw wrapNativeError(err, name, this.path);
    }
  }

  /** DRM_IOCTL_VERSION: the driver's name, version, date and description. */
  version(): DriverVersion {
    // The first call learns the string lengths, the second fills them in.
    const v = new Struct(DrmVersion);
    this.ioctl('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, v.bytes);
    const fields = [
      ['name', 'name_len'],
      ['date', 'date_len'],
      ['desc', 'desc_len'],
    ] as const;
    const strings = fields.map(([, len]) => Buffer.alloc(v.num(len) + 1));
    fields.forEach(([ptr, len], i) => {
      const s = strings[i] as Buffer;
      v.set(ptr, native().address(s)).set(len, s.length - 1);
    });
    this.ioctl('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, v.bytes);
    const text = (i: number): string => {
      const [, len] = fields[i] as (typeof fields)[number];
      return (strings[i] as Buffer).subarray(0, v.num(len)).toString('utf8');
    };
    return {
      name: text(0),
      date: text(1),
      desc: text(2),
      major: v.num('version_major'),
      minor: v.num('version_minor'),
      patchlevel: v.num('version_patchlevel'),
    };
  }

  /**
   * The device's bus id, e.g. 0000:00:01.0, from sysfs. (DRM_IOCTL_GET_UNIQUE
   * reads a DRM master, which accel files do not have: the driver refuses it.)
   */
  busId(): string {
    return basename(realpathSync(join('/sys/class/accel', basename(this.path), 'device')));
  }

  /** This file's usage statistics: its memory and each queue's busy time (fdinfo). */
  usage(): FdUsage {
    const u = fdUsage(this.fd);
    if (!u) throw new OssaError(`${this.path}: its fdinfo has no DRM usage statistics`, ENODEV, 'ENODEV', 'fdinfo');
    return u;
  }

  /** The driver's debugfs folder for this device (debugfs must be mounted). */
  debugfsDir(): string {
    return join('/sys/kernel/debug/accel', this.busId());
  }

  /** DRM_IOCTL_OSSA_GET_PARAM. */
  param(name: ParamName): bigint {
    // One preallocated argument, no per-call allocation: this is a hot path.
    const s = this.#paramArg;
    s.bytes.fill(0);
    s.set('param', Param[name]);
    this.ioctl('DRM_IOCTL_OSSA_GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, s.bytes);
    return s.big('value');
  }

  /** Everything the driver reports about the device and this file. */
  info(): DeviceInfo {
    const hw = Number(this.param('hwVersion'));
    return {
      path: this.path,
      driver: this.version(),
      hwVersion: { major: hw >>> 16, minor: hw & 0xffff },
      numQueues: Number(this.param('numQueues')),
      vaStart: this.param('vaStart'),
      vaSize: this.param('vaSize'),
      maxCmdSize: Number(this.param('maxCmdSize')),
      maxBoSize: Number(this.param('maxBoSize')),
      jobTimeoutMs: Number(this.param('jobTimeoutMs')),
    };
  }

  /** DRM_IOCTL_OSSA_BO_CREATE: a zeroed buffer of at least `size` bytes. */
  createBuffer(size: number, options: BufferOptions = {}): DeviceBuffer {
    const s = Struct.from(DrmOssaBoCreate, {
      size,
      flags: options.deviceReadOnly ? C.DRM_OSSA_BO_DEVICE_READ_ONLY : 0,
    });
    this.ioctl('DRM_IOCTL_OSSA_BO_CREATE', DRM_IOCTL_OSSA_BO_CREATE, s.bytes);
    return new DeviceBuffer(this, s.num('handle'), s.num('size'), s.big('va'));
  }

  /** A dma-buf fd for a buffer (DRM_IOCTL_PRIME_HANDLE_TO_FD). */
  exportBuffer(buffer: DeviceBuffer): number {
    const s = Struct.from(DrmPrimeHandle, { handle: buffer.handle, flags: DRM_CLOEXEC | DRM_RDWR, fd: -1 });
    this.ioctl('DRM_IOCTL_PRIME_HANDLE_TO_FD', DRM_IOCTL_PRIME_HANDLE_TO_FD, s.bytes);
    return s.num('fd');
  }

  /** A buffer from a dma-buf fd (DRM_IOCTL_PRIME_FD_TO_HANDLE); the fd stays open. */
  importBuffer(fd: number): DeviceBuffer {
    const p = Struct.from(DrmPrimeHandle, { fd });
    this.ioctl('DRM_IOCTL_PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, p.bytes);
    const info = Struct.from(DrmOssaBoInfo, { handle: p.num('handle') });
    this.ioctl('DRM_IOCTL_OSSA_BO_INFO', DRM_IOCTL_OSSA_BO_INFO, info.bytes);
    return new DeviceBuffer(this, p.num('handle'), info.num('size'), info.big('va'));
  }

  /** DRM_IOCTL_SYNCOBJ_CREATE. */
  createSyncobj(options: { signaled?: boolean } = {}): Syncobj {
    return new Syncobj(this, this.#newSyncobj(options.signaled ?? false));
  }

  #newSyncobj(signaled: boolean): number {
    const s = Struct.from(DrmSyncobjCreate, { flags: signaled ? DRM_SYNCOBJ_CREATE_SIGNALED : 0 });
    this.ioctl('DRM_IOCTL_SYNCOBJ_CREATE', DRM_IOCTL_SYNCOBJ_CREATE, s.bytes);
    return s.num('handle');
  }

  /** A syncobj from an fd of Syncobj.exportFd() (DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE). */
  importSyncobj(fd: number): Syncobj {
    const s = Struct.from(DrmSyncobjHandle, { fd });
    this.ioctl('DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, s.bytes);
    return new Syncobj(this, s.num('handle'));
  }

  /** Queues one job; returns the fence it signals. */
  submit(job: JobSpec): Fence {
    const [fence] = this.submitBatch([job]);
    return fence as Fence;
  }

  /**
   * Queues several jobs with one DRM_IOCTL_OSSA_SUBMIT: all or none. On
   * failure, throws a SubmitError with each job's status.
   */
  submitBatch(jobs: ReadonlyArray<JobSpec>): Fence[] {
    const keep: Uint8Array[] = [];
    const owned: Syncobj[] = [];
    const taken: DeviceBuffer[] = [];
    const fences: Fence[] = [];
    try {
      const table = Buffer.alloc(DrmOssaJob.size * jobs.length);
      jobs.forEach((spec, i) => {
        const cmd = spec.commands instanceof CommandStream ? spec.commands.toBuffer() : spec.commands;
        // The stream lives in a buffer of its own, which the job keeps alive.
        const cmdBo = this.#takeCmdBuffer(cmd.length);
        taken.push(cmdBo);
        cmdBo.map().set(cmd);

        const uses = (spec.buffers ?? []).map((u) =>
          u instanceof DeviceBuffer ? { buffer: u, access: 'readwrite' as const } : u,
        );
        const refs = Buffer.alloc(DrmOssaBoRef.size * (uses.length + 1));
        const ref = (k: number, handle: number, flags: number): void => {
          new Struct(DrmOssaBoRef, refs.subarray(k * DrmOssaBoRef.size)).set('handle', handle).set('flags', flags);
        };
        ref(0, cmdBo.handle, C.DRM_OSSA_BO_REF_READ);
        uses.forEach((u, k) => ref(k + 1, u.buffer.handle, ACCESS_FLAGS[u.access]));

        // A Fence over a caller's syncobj does not own its handle.
        const own = spec.signal instanceof Syncobj ? spec.signal : undefined;
        const fence = own ? new Fence(this, own.handle, false) : new Fence(this, this.#newSyncobj(false));
        if (!own) owned.push(fence);
        fences.push(fence);

        const waits = spec.waitFor ?? [];
        const point = spec.signal instanceof Syncobj ? undefined : spec.signal;
        const nsyncs = waits.length + 1 + (point ? 1 : 0);
        const syncs = Buffer.alloc(DrmOssaSync.size * nsyncs);
        const sync = (k: number, s: Syncobj | TimelinePoint, flags: number): void => {
          const [obj, at] = s instanceof Syncobj ? [s, 0n] : [s.syncobj, s.point];
          new Struct(DrmOssaSync, syncs.subarray(k * DrmOssaSync.size))
            .set('handle', obj.handle)
            .set('flags', flags)
            .set('point', at);
        };
        waits.forEach((w, k) => sync(k, w, C.DRM_OSSA_SYNC_WAIT));
        sync(waits.length, fence, C.DRM_OSSA_SYNC_SIGNAL);
        if (point) sync(waits.length + 1, point, C.DRM_OSSA_SYNC_SIGNAL);
        keep.push(refs, syncs);

        new Struct(DrmOssaJob, table.subarray(i * DrmOssaJob.size))
          .set('cmd_va', cmdBo.va)
          .set('cmd_size', cmd.length)
          .set('queue', spec.queue ?? 0)
          .set('bos.array', native().address(refs))
          .set('bos.count', uses.length + 1)
          .set('bos.stride', DrmOssaBoRef.size)
          .set('syncs.array', native().address(syncs))
          .set('syncs.count', nsyncs)
          .set('syncs.stride', DrmOssaSync.size);
      });

      const submit = Struct.from(DrmOssaSubmit, {
        'jobs.array': native().address(table),
        'jobs.count': jobs.length,
        'jobs.stride': DrmOssaJob.size,
      });
      try {
        this.ioctl('DRM_IOCTL_OSSA_SUBMIT', DRM_IOCTL_OSSA_SUBMIT, submit.bytes);
      } catch (err) {
        if (!(err instanceof OssaError)) throw err;
        const statuses = jobs.map((_, i) => table.readInt32LE(i * DrmOssaJob.size + DrmOssaJob.fields.status.offset));
        throw new SubmitError(err, statuses);
      }
      return fences;
    } catch (err) {
      for (const o of owned) o.close();
      throw err;
    } finally {
      // Back to the pool: reused once their jobs are done (or at once, if
      // nothing was queued). Large ones are closed: the kernel keeps them
      // alive until their job is done.
      for (const bo of taken) this.#giveCmdBuffer(bo);
    }
  }

  #takeCmdBuffer(size: number): DeviceBuffer {
    if (size <= CMD_POOL_BO_SIZE) {
      const i = this.#cmdPool.findIndex((bo) => bo.isIdle());
      if (i >= 0) return this.#cmdPool.splice(i, 1)[0] as DeviceBuffer;
      return this.createBuffer(CMD_POOL_BO_SIZE, { deviceReadOnly: true });
    }
    return this.createBuffer(Math.max(PAGE, size), { deviceReadOnly: true });
  }

  #giveCmdBuffer(bo: DeviceBuffer): void {
    if (bo.size === CMD_POOL_BO_SIZE && this.#cmdPool.length < CMD_POOL_MAX) this.#cmdPool.push(bo);
    else bo.close();
  }

  /**
   * Closes the file descriptor, and with it every handle of the file;
   * closing twice is a no-op.
   */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#closing.abort(new OssaError(`${this.path} was closed while waiting`, EBADF, 'EBADF', 'close'));
    // Closing the fd closes every handle: the pooled buffers only unmap.
    for (const bo of this.#cmdPool.splice(0)) bo.close();
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
