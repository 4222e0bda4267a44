/** An open ossa device node, /dev/accel/accelN, and everything done through it. */
import { setMaxListeners } from 'node:events';
import { constants, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DeviceBuffer, type BufferOptions } from './buffer.js';
import { CommandRing, RING_SIZE } from './command-ring.js';
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
import { JOB_SIZE, REF_SIZE, SubmitArgs, SUBMIT_SIZE, SYNC_SIZE } from './submit-args.js';
import { Fence, Syncobj } from './syncobj.js';
import { spans } from './trace/spans.js';
import {
  DRM_IOCTL_OSSA_BO_CREATE,
  DRM_IOCTL_OSSA_BO_INFO,
  DRM_IOCTL_OSSA_GET_PARAM,
  DRM_IOCTL_OSSA_SUBMIT,
  DrmOssaBoCreate,
  DrmOssaBoInfo,
  DrmOssaGetParam,
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

/** Writes a job's command stream into `target` at `offset`. */
function writeStream(cmd: CommandStream | Uint8Array, target: Uint8Array, offset: number): void {
  if (cmd instanceof CommandStream) cmd.writeTo(target, offset);
  else target.set(cmd, offset);
}

/** Syncobjs kept for reuse by later Fences. */
const SYNCOBJ_POOL_MAX = 256;
/** The most syncs a job may have (docs/uapi.md, SUBMIT). */
const MAX_SYNCS = 64;

export class Device implements Disposable {
  #fd: number;
  /** Command streams go here (made on first submission). */
  #ring: CommandRing | undefined;
  /** SUBMIT's argument, reused. */
  #args = new SubmitArgs();
  /** Where the ring was before the submission under way. */
  #mark = { head: 0, nextPoint: 0 };
  /** Syncobjs of closed Fences, whose fences the next SUBMIT replaces. */
  #syncobjPool: number[] = [];
  /** The Fences of the submission under way. */
  #fences: Array<Fence | undefined> = [];
  /** submit()'s and enqueue()'s one-job list. */
  #one: Array<JobSpec | undefined> = [undefined];
  #paramArg = new Struct(DrmOssaGetParam);
  /** Aborted by close(): every wait on the device's objects ends with EBADF. */
  #closing = new AbortController();

  private constructor(
    fd: number,
    /** The device node this was opened from. */
    readonly path: string,
  ) {
    this.#fd = fd;
    // Every wait on the device's objects listens to it: no cap on waits.
    setMaxListeners(0, this.#closing.signal);
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

  /** Queues one job; returns the Fence it signals. */
  submit(job: JobSpec): Fence {
    this.#submitOne(job, true);
    const fence = this.#fences[0] as Fence;
    this.#fences[0] = undefined;
    return fence;
  }

  /**
   * Queues several jobs with one DRM_IOCTL_OSSA_SUBMIT: all or none. On
   * failure, throws a SubmitError with each job's status.
   */
  submitBatch(jobs: ReadonlyArray<JobSpec>): Fence[] {
    this.#submit(jobs, true);
    const fences = this.#fences.slice(0, jobs.length) as Fence[];
    this.#fences.fill(undefined, 0, jobs.length);
    return fences;
  }

  /**
   * Queues one job and returns nothing: its completion reaches `job.signal`
   * (a Syncobj or a timeline point), if it has one. The form for a hot
   * loop: with the same JobSpec, CommandStream and Syncobj each time, it is
   * one DRM_IOCTL_OSSA_SUBMIT and allocates no object.
   */
  enqueue(job: JobSpec): void {
    this.#submitOne(job, false);
  }

  /** #submit() of one job, through a list kept for it (no array per call). */
  #submitOne(job: JobSpec, fences: boolean): void {
    this.#one[0] = job;
    try {
      this.#submit(this.#one, fences);
    } finally {
      this.#one[0] = undefined;
    }
  }

  /** The device's command ring, made on first use. */
  #commandRing(): CommandRing {
    if (!this.#ring) {
      const bo = this.createBuffer(RING_SIZE, { deviceReadOnly: true });
      try {
        this.#ring = new CommandRing(this, bo, this.#newSyncobj(false));
      } catch (err) {
        bo.close();
        throw err;
      }
    }
    return this.#ring;
  }

  /**
   * Encodes the jobs into the reused SUBMIT argument, each stream into the
   * command ring (or, without room there, a buffer of its own), and issues
   * the one SUBMIT. With `fences`, each job without a Syncobj to signal
   * gets a Fence over a syncobj from the pool, in this.#fences[i].
   */
  #submit(jobs: ReadonlyArray<JobSpec | undefined>, fences: boolean): void {
    const traceBegin = spans ? spans.now() : 0;
    const ring = this.#commandRing();
    const args = this.#args;
    const n = jobs.length;
    let nRefs = 0;
    let nSyncs = 0;
    for (let i = 0; i < n; i++) {
      const spec = jobs[i] as JobSpec;
      nRefs += (spec.buffers?.length ?? 0) + 1;
      nSyncs += (spec.waitFor?.length ?? 0) + 3;
    }
    const jobsAt = SUBMIT_SIZE;
    let refAt = jobsAt + n * JOB_SIZE;
    let syncAt = refAt + nRefs * REF_SIZE;
    args.prepare(syncAt + nSyncs * SYNC_SIZE);
    args.submit(jobsAt, n);
    ring.mark(this.#mark);
    let own: DeviceBuffer[] | undefined;
    let made = 0;
    try {
      for (let i = 0; i < n; i++) {
        const spec = jobs[i] as JobSpec;
        const cmd = spec.commands;
        const size = cmd instanceof CommandStream ? cmd.size : cmd.length;
        let cmdBo = ring.buffer;
        let lo: number;
        let hi: number;
        // The ring's point takes a sync of the job's: a job that needs them
        // all (docs/uapi.md: 64) gets a buffer of its own instead.
        const jobSyncs =
          (spec.waitFor?.length ?? 0) + (spec.signal ? 1 : 0) + (fences && !(spec.signal instanceof Syncobj) ? 1 : 0);
        const at = jobSyncs < MAX_SYNCS ? ring.reserve(size) : -1;
        if (at >= 0) {
          writeStream(cmd, ring.bytes, at);
          lo = ring.vaLo(at);
          hi = ring.vaHi(at);
        } else {
          // No room in the ring (or a large stream): a buffer of its own,
          // closed after the SUBMIT; the kernel keeps it while the job runs.
          cmdBo = this.createBuffer(Math.max(PAGE, size), { deviceReadOnly: true });
          (own ??= []).push(cmdBo);
          writeStream(cmd, cmdBo.map(), 0);
          lo = Number(cmdBo.va % 0x1_0000_0000n);
          hi = Number(cmdBo.va >> 32n);
        }
        const refs = refAt;
        args.ref(refAt, cmdBo.handle, C.DRM_OSSA_BO_REF_READ);
        refAt += REF_SIZE;
        const buffers = spec.buffers;
        if (buffers) {
          for (let k = 0; k < buffers.length; k++) {
            const u = buffers[k] as BufferUse | DeviceBuffer;
            if (u instanceof DeviceBuffer) args.ref(refAt, u.handle, ACCESS_FLAGS.readwrite);
            else args.ref(refAt, u.buffer.handle, ACCESS_FLAGS[u.access]);
            refAt += REF_SIZE;
          }
        }
        const syncs = syncAt;
        const waits = spec.waitFor;
        if (waits) {
          for (let k = 0; k < waits.length; k++) {
            const w = waits[k] as Syncobj | TimelinePoint;
            if (w instanceof Syncobj) args.sync(syncAt, w.handle, C.DRM_OSSA_SYNC_WAIT, 0);
            else args.syncAt(syncAt, w.syncobj.handle, C.DRM_OSSA_SYNC_WAIT, w.point);
            syncAt += SYNC_SIZE;
          }
        }
        if (at >= 0) {
          // The ring's point: the job's stretch is free once it signals.
          args.sync(syncAt, ring.timeline, C.DRM_OSSA_SYNC_SIGNAL, ring.nextPoint - 1);
          syncAt += SYNC_SIZE;
        }
        const signal = spec.signal;
        if (signal instanceof Syncobj) {
          args.sync(syncAt, signal.handle, C.DRM_OSSA_SYNC_SIGNAL, 0);
          syncAt += SYNC_SIZE;
          if (fences) {
            // Two objects now name the handle: it must never be pooled.
            signal.keepHandle();
            this.#fences[i] = new Fence(this, signal.handle, false);
          }
        } else {
          if (signal) {
            args.syncAt(syncAt, signal.syncobj.handle, C.DRM_OSSA_SYNC_SIGNAL, signal.point);
            syncAt += SYNC_SIZE;
          }
          if (fences) {
            const handle = this.#syncobjPool.pop() ?? this.#newSyncobj(false);
            this.#fences[i] = new Fence(this, handle, true, true);
            args.sync(syncAt, handle, C.DRM_OSSA_SYNC_SIGNAL, 0);
            syncAt += SYNC_SIZE;
          }
        }
        made = i + 1;
        args.job(jobsAt + i * JOB_SIZE, lo, hi, size, spec.queue ?? 0, refs, (refAt - refs) / REF_SIZE, syncs, (syncAt - syncs) / SYNC_SIZE);
      }
      try {
        this.ioctl('DRM_IOCTL_OSSA_SUBMIT', DRM_IOCTL_OSSA_SUBMIT, args.bytes);
      } catch (err) {
        if (!(err instanceof OssaError)) throw err;
        const statuses = Array.from({ length: n }, (_, i) => args.status(jobsAt + i * JOB_SIZE));
        throw new SubmitError(err, statuses);
      }
      if (spans) {
        const seq = spans.nextSeq();
        if (fences) for (let i = 0; i < n; i++) (this.#fences[i] as Fence).traceSeq = seq;
        spans.add('submit', traceBegin, seq, n);
      }
    } catch (err) {
      // Nothing was queued: the stretches and points go back, and so do
      // the pooled syncobjs (their fences unchanged).
      ring.rewind(this.#mark);
      if (fences) {
        for (let i = 0; i < made; i++) if (!(jobs[i]?.signal instanceof Syncobj)) this.#fences[i]?.close();
        this.#fences.fill(undefined, 0, made);
      }
      throw err;
    } finally {
      if (own) for (const bo of own) bo.close();
    }
  }

  /** @internal A pooled syncobj back from a closed Fence, for the next submission. */
  recycleSyncobj(handle: number): boolean {
    if (this.#fd < 0 || this.#syncobjPool.length >= SYNCOBJ_POOL_MAX) return false;
    this.#syncobjPool.push(handle);
    return true;
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
    // Closing the fd closes every handle: the ring's buffer only unmaps.
    this.#ring?.buffer.close();
    this.#ring = undefined;
    this.#syncobjPool.length = 0;
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
