/**
 * Boots the guest under QEMU and collects what its suite reports: results
 * over a virtio-serial port (a unix socket on the host), the serial console
 * into a log file, scanned for kernel oopses and panics. Enforces a boot
 * timeout, a silence timeout and an overall timeout. A second port carries
 * the guest's requests to hot-unplug and plug back the ossa device, which
 * the host makes over QMP (hotplug.ts).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { classifyConsoleLine } from './console.js';
import { handleControl } from './control.js';
import { DeviceTrace } from './device-trace.js';
import { ossaDeviceArgs, type OssaProperties } from './hotplug.js';
import { CONTROL_PORT, type GuestMessage, type GuestTestResult, parseGuestMessage, RESULTS_PORT } from './protocol.js';
import { Qmp } from './qmp.js';
import type { StartupStep } from './startup.js';
import { summariseTaskDump } from './task-dump.js';

export type Accel = 'kvm' | 'tcg';

export type FailureCause =
  | 'kernel-panic'
  | 'kernel-oops'
  | 'boot-timeout'
  | 'hung'
  | 'timeout'
  | 'setup'
  | 'early-exit'
  | 'qemu-error';

export interface GuestFailure {
  cause: FailureCause;
  message: string;
}

export interface BootOptions {
  qemu: string;
  kernel: string;
  initrd: string;
  consoleLog: string;
  accel: Accel;
  /** Extra kernel command line. */
  append?: string;
  /** Extra QEMU arguments (devices for benchmarks). */
  extraArgs?: string[];
  /**
   * QEMU arguments before the ossa device: a vIOMMU, which translates only
   * for PCI devices created after it.
   */
  beforeDevices?: string[];
  /** Guest RAM, as QEMU's -m takes it (default 2G). */
  memory?: string;
  /** More properties of the ossa device, at boot and when it is plugged back. */
  ossaProperties?: OssaProperties;
  /** Extra environment of QEMU (ASan options, gcov prefix). */
  env?: Record<string, string>;
  /** Seconds from start until /init reports (default 120). */
  bootTimeoutS?: number;
  /** Seconds without a message on the results channel (default 180). */
  silenceTimeoutS?: number;
  /** Seconds for the whole run (default 1800). */
  totalTimeoutS?: number;
  /** Called for each message from the guest, as it arrives. */
  onMessage?: (message: GuestMessage) => void;
}

export interface GuestRun {
  /** Set when the run did not complete cleanly. */
  failure?: GuestFailure;
  tests: GuestTestResult[];
  /** Each test file's wall time in the guest, in the order they ran. */
  files: Array<{ file: string; seconds: number }>;
  /** Errors outside tests (a test file that failed to load, ...). */
  errors: Array<{ file?: string; message: string }>;
  /** Kernel WARNINGs and hung-task reports seen on the console. */
  kernelWarnings: string[];
  /** gcov data files the guest sent (the debug kernel's driver coverage). */
  gcov: Array<{ path: string; data: Buffer }>;
  /** Benchmark results, by name, in the order they came. */
  bench: Array<{ name: string; data: unknown }>;
  suiteEnded: boolean;
  consoleLog: string;
  accel: Accel;
  /** Seconds, measured on the host from QEMU's start. */
  timings: {
    toInit?: number;
    toFirstTest?: number;
    total: number;
    /** Each start-up step as it reached the host, seconds from QEMU's start. */
    steps: StartupStep[];
  };
}

/**
 * The failures where the guest may still be running but has stopped
 * answering: before QEMU is stopped, its kernel is asked for a task dump.
 */
const STUCK: ReadonlySet<FailureCause> = new Set<FailureCause>(['hung', 'timeout', 'boot-timeout']);
/** Magic SysRq keys pressed on the guest's keyboard: every task, then the blocked ones. */
const TASK_DUMP_KEYS = ['t', 'w'] as const;
/** How long the console may stay silent before a dump counts as written, and the most a key may take. */
const DUMP_QUIET_MS = 2000;
const DUMP_KEY_MAX_MS = 20_000;
/** The most the whole dump may take: QEMU itself may be what hangs, and QMP then never answers. */
const DUMP_MAX_MS = 50_000;
/** The most console lines of a dump read back for the failure message (a guest of a few hundred tasks prints some 20,000). */
const DUMP_MAX_LINES = 200_000;

/**
 * The guest's CPU model. Under KVM, the host's own (`host`): the one model
 * KVM runs on any host without a missing-feature error, as CI runners differ
 * in CPU. Under TCG, `qemu64`: what TCG emulates quickest.
 */
export function guestCpu(accel: Accel): string {
  return accel === 'kvm' ? 'host' : 'qemu64';
}

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

/** The host ends of the guest's channels: unix sockets; and QEMU's log file. */
export interface VmSockets {
  results: string;
  control: string;
  qmp: string;
  /** QEMU's log (-D), where the device's trace events go when the guest asks for them (device-trace.ts). */
  qemuLog: string;
}

/** The log file the caller's arguments give QEMU (-D), if they give one. */
function callerLog(o: BootOptions): string | undefined {
  const i = o.extraArgs?.indexOf('-D') ?? -1;
  return i >= 0 ? o.extraArgs?.[i + 1] : undefined;
}

export function qemuArgs(o: BootOptions, sockets: VmSockets): string[] {
  return [
    '-L', '/usr/share/seabios', '-L', '/usr/share/qemu',
    '-machine', 'q35',
    '-accel', o.accel === 'kvm' ? 'kvm' : 'tcg,thread=multi',
    '-cpu', guestCpu(o.accel),
    '-smp', '2', '-m', o.memory ?? '2G',
    '-nodefaults', '-display', 'none', '-vga', 'none', '-no-reboot', '-nic', 'none',
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    '-kernel', o.kernel,
    '-initrd', o.initrd,
    // sysrq_always_enabled: the task dump keys work whatever the guest's
    // kernel.sysrq mask (Debian's 438 leaves them out).
    '-append', `console=ttyS0 panic=-1 printk.time=1 sysrq_always_enabled ${o.append ?? ''}`.trim(),
    ...(o.beforeDevices ?? []),
    ...ossaDeviceArgs(o.ossaProperties),
    '-qmp', `unix:${sockets.qmp},server=on,wait=off`,
    '-device', 'virtio-serial-pci',
    '-chardev', `socket,id=results,path=${sockets.results}`,
    '-device', `virtserialport,chardev=results,name=${RESULTS_PORT}`,
    '-chardev', `socket,id=control,path=${sockets.control}`,
    '-device', `virtserialport,chardev=control,name=${CONTROL_PORT}`,
    // Trace lines with the host's time, for the device trace.
    ...(callerLog(o) ? [] : ['-msg', 'timestamp=on', '-D', sockets.qemuLog]),
    ...(o.extraArgs ?? []),
  ];
}

/** Boots the guest once and returns what happened. Never throws for guest trouble. */
export async function runGuest(o: BootOptions): Promise<GuestRun> {
  const bootTimeout = (o.bootTimeoutS ?? env('OSSA_BOOT_TIMEOUT', 120)) * 1000;
  const silenceTimeout = (o.silenceTimeoutS ?? env('OSSA_SILENCE_TIMEOUT', 180)) * 1000;
  const totalTimeout = (o.totalTimeoutS ?? env('OSSA_TOTAL_TIMEOUT', 1800)) * 1000;

  const run: GuestRun = {
    tests: [],
    files: [],
    errors: [],
    kernelWarnings: [],
    gcov: [],
    bench: [],
    suiteEnded: false,
    consoleLog: o.consoleLog,
    accel: o.accel,
    timings: { total: 0, steps: [] },
  };
  const start = performance.now();
  const elapsed = (): number => (performance.now() - start) / 1000;

  const tmp = await mkdtemp(join(tmpdir(), 'ossa-vm-'));
  const sockets: VmSockets = {
    results: join(tmp, 'results.sock'),
    control: join(tmp, 'control.sock'),
    qmp: join(tmp, 'qmp.sock'),
    qemuLog: callerLog(o) ?? join(tmp, 'qemu.log'),
  };
  const deviceTrace = new DeviceTrace(sockets.qemuLog);
  await mkdir(dirname(o.consoleLog), { recursive: true });
  const log: WriteStream = createWriteStream(o.consoleLog);
  let child: ResultPromise | undefined;
  let timer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let lastConsoleLines: string[] = [];
  let lastConsoleAt = performance.now();
  let dumping = false;
  /** The console while the task dump is written. */
  const dumpLines: string[] = [];
  let dumpLate = false;

  // Presses each task dump key over QMP and waits for the console to go
  // quiet, writing what it does into the console log, where the dump lands.
  const taskDump = async (): Promise<void> => {
    const note = (s: string): void => void (log.writableEnded || log.write(`ossa-host: ${s}\n`));
    note(`the guest is stuck: asking its kernel for a task dump (sysrq ${TASK_DUMP_KEYS.join(', then ')}) before stopping QEMU`);
    try {
      const q = await connectQmp();
      for (const key of TASK_DUMP_KEYS) {
        await q.execute('send-key', { keys: ['alt', 'sysrq', key].map((k) => ({ type: 'qcode', data: k })) });
        const pressed = performance.now();
        lastConsoleAt = pressed;
        while (performance.now() - lastConsoleAt < DUMP_QUIET_MS && performance.now() - pressed < DUMP_KEY_MAX_MS) {
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      note('task dump done; stopping QEMU');
      const tasks = summariseTaskDump(dumpLines);
      // Not once the deadline has stopped QEMU: the run may be reported by then.
      if (run.failure && tasks.length && !dumpLate) run.failure.message += `; the guest's tasks then: ${tasks.join(' | ')}`;
    } catch (err) {
      note(`no task dump: ${(err as Error).message}; stopping QEMU`);
    }
  };
  const stop = (failure: GuestFailure | undefined, graceMs = 0): void => {
    if (failure && !run.failure) run.failure = failure;
    if (killTimer || dumping) return;
    if (failure && STUCK.has(failure.cause)) {
      dumping = true;
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        deadline = setTimeout(() => {
          dumpLate = true;
          if (!log.writableEnded) log.write(`ossa-host: no task dump within ${DUMP_MAX_MS / 1000} s; stopping QEMU\n`);
          resolve();
        }, DUMP_MAX_MS);
      });
      void Promise.race([taskDump(), late]).finally(() => {
        clearTimeout(deadline);
        killTimer = setTimeout(() => child?.kill('SIGKILL'), 0);
      });
      return;
    }
    killTimer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
  };
  const arm = (ms: number, failure: () => GuestFailure): void => {
    clearTimeout(timer);
    timer = setTimeout(() => stop(failure()), ms);
  };
  const lastLines = (): string => lastConsoleLines.slice(-5).join(' | ');

  const server = createServer((socket: Socket) => {
    const rl = createInterface({ input: socket });
    rl.on('line', (line) => {
      const m = parseGuestMessage(line);
      if (!m) return;
      o.onMessage?.(m);
      arm(silenceTimeout, () => ({
        cause: 'hung',
        message: `guest hung: no result for ${silenceTimeout / 1000} s (last console lines: ${lastLines()})`,
      }));
      const step = (name: string, ago = 0): void => {
        run.timings.steps.push({ step: name, seconds: elapsed() - ago });
      };
      // The first test result, or in bench mode the first measurement.
      const firstResult = (name: string): void => {
        if (run.timings.toFirstTest !== undefined) return;
        run.timings.toFirstTest = elapsed();
        step(name);
      };
      switch (m.type) {
        case 'boot':
          run.timings.toInit = elapsed();
          step('/init');
          break;
        case 'phase':
          step(m.name, m.ago ?? 0);
          break;
        case 'suite-start':
          step('suite start');
          break;
        case 'setup':
          if (m.ok) step(m.step);
          else stop({ cause: 'setup', message: `guest setup step "${m.step}" failed: ${m.message ?? ''}` }, 5000);
          break;
        case 'test':
          firstResult('first test result');
          run.tests.push({
            file: m.file,
            name: m.name,
            state: m.state,
            durationMs: m.durationMs,
            ...(m.message ? { message: m.message } : {}),
            ...(m.ioctls ? { ioctls: m.ioctls } : {}),
          });
          break;
        case 'file-end':
          run.files.push({ file: m.file, seconds: m.seconds });
          break;
        case 'error':
          run.errors.push({ ...(m.file ? { file: m.file } : {}), message: m.message });
          break;
        case 'suite-end':
          run.suiteEnded = true;
          break;
        case 'gcov':
          run.gcov.push({ path: m.path, data: Buffer.from(m.data, 'base64') });
          break;
        case 'bench':
          firstResult('first measurement');
          run.bench.push({ name: m.name, data: m.data });
          break;
        default:
          break;
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockets.results, resolve);
  });

  // The guest's requests, one at a time, over QMP (connected on first use).
  let qmp: Promise<Qmp> | undefined;
  const connectQmp = (): Promise<Qmp> =>
    (qmp ??= new Promise<Socket>((resolve, reject) => {
      const s = connect(sockets.qmp, () => resolve(s));
      s.once('error', reject);
    }).then(async (s) => {
      const q = new Qmp(s);
      await q.handshake();
      return q;
    }));
  const control = createServer((socket: Socket) => {
    socket.on('error', () => {}); // a guest that went away: nothing to answer
    let queue = Promise.resolve();
    createInterface({ input: socket }).on('line', (line) => {
      queue = queue.then(async () => {
        socket.write(`${JSON.stringify(await handleControl(line, connectQmp, deviceTrace, o.ossaProperties))}\n`);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(sockets.control, resolve);
  });

  const totalTimer = setTimeout(
    () => stop({ cause: 'timeout', message: `guest run exceeded ${totalTimeout / 1000} s (last console lines: ${lastLines()})` }),
    totalTimeout,
  );
  arm(bootTimeout, () => ({
    cause: 'boot-timeout',
    message: `guest did not reach /init within ${bootTimeout / 1000} s (last console lines: ${lastLines()})`,
  }));

  child = execa(o.qemu, qemuArgs(o, sockets), {
    stdin: 'ignore',
    reject: false,
    all: false,
    buffer: { stdout: false, stderr: true },
    ...(o.env ? { env: o.env } : {}),
  });
  const consoleLines = createInterface({ input: child.stdout! });
  // Listen for the end of the console now: it may close before QEMU's exit is seen.
  const consoleClosed = new Promise<void>((resolve) => consoleLines.once('close', resolve));
  consoleLines.on('line', (line) => {
    lastConsoleAt = performance.now();
    log.write(`${line}\n`);
    lastConsoleLines.push(line.trim());
    if (dumping && dumpLines.length < DUMP_MAX_LINES) dumpLines.push(line);
    if (lastConsoleLines.length > 50) lastConsoleLines = lastConsoleLines.slice(-20);
    const trouble = classifyConsoleLine(line);
    if (trouble === 'panic') {
      stop({ cause: 'kernel-panic', message: `guest kernel panic: ${line.trim()}` }, 3000);
    } else if (trouble === 'oops') {
      // Let the trace reach the log, then stop: the kernel is not to be trusted.
      stop({ cause: 'kernel-oops', message: `guest kernel oops: ${line.trim()}` }, 3000);
    } else if (trouble) {
      run.kernelWarnings.push(line.trim());
    }
  });

  const result = await child;
  await consoleClosed;
  clearTimeout(timer);
  clearTimeout(totalTimer);
  clearTimeout(killTimer);
  server.close();
  control.close();
  if (qmp) (await qmp.catch(() => undefined))?.close();
  await new Promise<void>((resolve) => log.end(resolve));
  await rm(tmp, { recursive: true, force: true });
  run.timings.total = elapsed();

  const stderr = String(result.stderr ?? '').trim();
  if (!run.failure && result.exitCode !== 0 && !result.isTerminated) {
    run.failure = { cause: 'qemu-error', message: `QEMU exited with status ${result.exitCode}: ${stderr}` };
  }
  if (!run.failure && !run.suiteEnded) {
    // How QEMU ended: a signal nobody here sent (a crash), or status 0 (the
    // guest powered off or, with -no-reboot, reset: a triple fault).
    const ended = result.signal ? `QEMU was killed by ${result.signal}` : `QEMU exited with status ${result.exitCode}`;
    run.failure = {
      cause: 'early-exit',
      message: `guest stopped before its suite finished: ${ended} (last console lines: ${lastLines()})${stderr ? `; QEMU said: ${stderr}` : ''}`,
    };
  }
  return run;
}
