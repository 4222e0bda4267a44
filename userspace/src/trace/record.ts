/**
 * `ossa trace -- COMMAND`: runs COMMAND with the library's spans on, the
 * guest kernel's events recorded (ftrace) and, where the machine's host
 * offers the control port, the device's trace events; places the device's
 * events on the guest's clock (device-events.ts) and writes the journey of
 * each job as a Chrome/Perfetto JSON trace.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Device } from '../device.js';
import { OssaError } from '../errors.js';
import { clockOffset, type ClockOffset, hostToGuest, parseDeviceEvents, readDeviceTime, type TimeSample } from './device-events.js';
import { controlPort, hostRequest } from './host-port.js';
import { assembleJourneys, schedJobs } from './journey.js';
import { KernelTrace } from './kernel-events.js';
import type { SpanFile } from './spans.js';
import { isComplete, missingSteps, type StepTimes, stepTimes } from './steps.js';
import { traceJson } from './trace-json.js';

export interface TraceOptions {
  /** The device node whose debugfs gives the clock sync (default: the first ossa node). */
  device?: string;
  /** Where the JSON trace goes. */
  output: string;
}

export interface TraceSummary {
  output: string;
  /** COMMAND's exit status (or 128 + its signal's number). */
  exitStatus: number;
  jobs: number;
  /** Jobs seen on every side: library, ioctl, drm_sched, device, interrupt, fence. */
  complete: number;
  /** Why the device's events are missing, when they are. */
  deviceEvents: string;
  /** Half the width of the clock sync's bound, ns (undefined without the device's events). */
  clockUncertaintyNs: number | undefined;
  /** Where the complete jobs' time went. */
  steps: StepTimes;
  /** The other jobs, with what the trace lacks of each. */
  incomplete: Array<{ job: string; missing: string[] }>;
}

/** A trace that could not be made: the message says why. */
export class TraceError extends Error {}

/** Signals that would end the tool: passed on to COMMAND instead, so that the tool ends the recording. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function runCommand(command: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command;
    const child = spawn(file as string, args, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const done = (): void => {
      for (const s of FORWARDED) process.off(s, forward);
    };
    child.once('error', (err) => {
      done();
      reject(new TraceError(`${file}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/** The library's span files; one the process could not finish (killed while writing) is skipped, with a warning. */
function readSpanFiles(dir: string): SpanFile[] {
  const files: SpanFile[] = [];
  for (const n of readdirSync(dir).filter((f) => /^spans-\d+(-\d+)?\.json$/.test(f))) {
    try {
      files.push(JSON.parse(readFileSync(join(dir, n), 'utf8')) as SpanFile);
    } catch (err) {
      process.stderr.write(`ossa trace: library spans ${n} skipped: ${(err as Error).message}\n`);
    }
  }
  return files;
}

/**
 * Traces COMMAND. Device errors are OssaErrors; every other failure (no
 * tracefs, not root, the host refusing, an unwritable output) a TraceError.
 */
export async function traceCommand(command: readonly string[], options: TraceOptions): Promise<TraceSummary> {
  try {
    return await record(command, options);
  } catch (err) {
    if (err instanceof OssaError || err instanceof TraceError) throw err;
    throw new TraceError(err instanceof Error ? err.message : String(err));
  }
}

async function record(command: readonly string[], options: TraceOptions): Promise<TraceSummary> {
  if (!command.length) throw new TraceError('no command to trace');
  let debugfs: string;
  {
    using dev = Device.open(options.device);
    debugfs = dev.debugfsDir();
  }
  if (!existsSync(join(debugfs, 'device_time'))) {
    throw new TraceError(`${debugfs}/device_time is missing: debugfs not mounted, not root, or a driver without it`);
  }
  const spansDir = mkdtempSync(join(tmpdir(), 'ossa-trace-'));
  const host = controlPort() !== undefined;
  let deviceEvents = host ? 'recorded' : 'not recorded: no host control port (a machine the project runner did not boot)';
  let deviceLines: string[] | undefined;
  let kernel: KernelTrace | undefined;
  const batches: TimeSample[][] = [];
  let exitStatus = 0;
  try {
    if (host) await hostRequest({ op: 'device-trace', enable: true });
    try {
      kernel = KernelTrace.start();
      batches.push(readDeviceTime(debugfs));
      exitStatus = await runCommand(command, { ...process.env, OSSA_TRACE_SPANS: spansDir });
      batches.push(readDeviceTime(debugfs));
    } finally {
      if (host) deviceLines = (await hostRequest({ op: 'device-trace', enable: false })).lines ?? [];
    }
    const names = kernel.sched;
    const recording = kernel;
    kernel = undefined;
    const kernelEvents = recording.stop();
    const device = deviceLines ? parseDeviceEvents(deviceLines) : undefined;
    let toGuest: ((h: number) => number) | undefined;
    let offsets: Array<ClockOffset | undefined> = [];
    if (device) {
      offsets = batches.map((b) => clockOffset(b, device));
      const [first, last] = offsets;
      if (first) toGuest = hostToGuest(first, last);
      else deviceEvents = 'recorded, but not placed: no read of the device time matched between guest and host';
    }
    const uncertainty = offsets[0] ? (offsets[0].high - offsets[0].low) / 2 : undefined;
    const spanFiles = readSpanFiles(spansDir);
    const { jobs, ioctls } = assembleJourneys(schedJobs(kernelEvents, names), kernelEvents, device, toGuest, (uncertainty ?? 0) + 1000, spanFiles);
    const file = traceJson(jobs, ioctls, spanFiles, {
      tool: 'ossa trace',
      command: command.join(' '),
      clock: 'CLOCK_MONOTONIC of the guest',
      deviceEvents,
      clockUncertaintyNs: uncertainty ?? null,
      clockSamples: offsets.map((o) => o?.samples ?? 0).join(' '),
    });
    writeFileSync(options.output, JSON.stringify(file));
    return {
      output: options.output,
      exitStatus,
      jobs: jobs.length,
      complete: jobs.filter(isComplete).length,
      deviceEvents,
      clockUncertaintyNs: uncertainty,
      steps: stepTimes(jobs),
      incomplete: jobs.filter((j) => !isComplete(j)).map((j) => ({ job: j.key, missing: missingSteps(j) })),
    };
  } finally {
    kernel?.stop();
    rmSync(spansDir, { recursive: true, force: true });
  }
}

