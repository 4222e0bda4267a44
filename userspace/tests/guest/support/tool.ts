/**
 * The suite's C tools (/ossa/tools), run as child processes that cannot
 * outlive their test: each runs in a process group of its own, and one
 * that has not finished in time is stopped with every process it started
 * (SIGTERM, then SIGKILL), the error saying where each of its threads was
 * in the kernel. The times are below the test's own, and the long ones
 * below the guest runner's hang dump (HANG_DUMP_MS), so that a stuck tool
 * fails its own test with that evidence, rather than the test with a bare
 * timeout, the next test with the dump's kernel messages, or the whole
 * guest run.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { HANG_DUMP_MS } from '../../../../ci/lib/protocol.js';
import { whereInKernel } from '../../../../ci/lib/task-dump.js';

/** A tool's time unless it says otherwise: below the runner's default test timeout (60 s). */
export const TOOL_TIMEOUT_MS = 45_000;
/** A long tool's time (recovery, ordering, the fault-injection sweeps, ...): the slowest takes about 40 s on the debug kernel. */
export const LONG_TOOL_TIMEOUT_MS = HANG_DUMP_MS - 30_000;
/** The timeout of a test that runs one long tool: its time, and a margin to read the stacks and stop it. */
export const LONG_TOOL_TEST_TIMEOUT_MS = HANG_DUMP_MS - 5_000;
/** How long a stopped tool has after SIGTERM (to restore what it changed), then after SIGKILL. */
const STOP_GRACE_MS = 4_000;
/** What the error's message keeps of each stream: its end. */
const MESSAGE_TAIL = 4096;

export interface ToolOptions {
  /** TOOL_TIMEOUT_MS unless given. */
  timeoutMs?: number;
  /** The most output kept of each stream, in characters; a tool that prints more is stopped. */
  maxChars?: number;
}

/** A tool that failed, with everything it printed. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly signal: string | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** A /proc/.../stat line: its command name, state, parent and process group. */
function readStat(path: string): { comm: string; state: string; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(text.indexOf('(') + 1, close), state: rest[0] ?? '?', pgrp: Number(rest[2]) };
}

/** The function names of a /proc/.../stack, innermost first ('[<0>] name+0x1/0x2'). */
function kernelFrames(path: string): string[] {
  try {
    return [...readFileSync(path, 'utf8').matchAll(/\]\s+([\w.]+)\+0x/g)].map((m) => m[1]!);
  } catch {
    return [];
  }
}

/** Every thread of process group @pgid: name[tid] state: where it is in the kernel. */
export function processGroupStacks(pgid: number): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (readStat(`/proc/${pid}/stat`)?.pgrp !== pgid) continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const t = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (t) out.push(`${t.comm}[${tid}] ${t.state}: ${whereInKernel(kernelFrames(`/proc/${pid}/task/${tid}/stack`))}`);
    }
  }
  return out;
}

/** The end of a stream's text, for a message. */
const tail = (text: string): string => (text.length > MESSAGE_TAIL ? `[${text.length - MESSAGE_TAIL} characters before]...${text.slice(-MESSAGE_TAIL)}` : text);

/**
 * Runs @path with @args to its end. Resolves with its output when it
 * exits with status 0; rejects with a ToolError otherwise, and when it
 * has not finished within the time, once its whole process group is
 * stopped, or a grace later if one of them cannot be (a process asleep
 * in the kernel for good keeps its output open).
 */
export function runTool(path: string, args: readonly string[], options: ToolOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const timeoutMs = options.timeoutMs ?? TOOL_TIMEOUT_MS;
  const maxChars = options.maxChars ?? 64 << 20;
  const name = basename(path);
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = { stdout: '', stderr: '' };
    const timers: NodeJS.Timeout[] = [];
    let stopped: string | undefined;
    let settled = false;
    const fail = (how: string, code: number | null, signal: string | null): void => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      reject(new ToolError(`${name} ${args.join(' ')}: ${how}\nstdout: ${tail(out.stdout)}\nstderr: ${tail(out.stderr)}`, code, signal, out.stdout, out.stderr));
    };
    const signalGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // the group has gone meanwhile
      }
    };
    // SIGTERM first (a tool may restore what it changed: as-churn turns the
    // device's memory decoding back on), then SIGKILL; and if the group's
    // output is still open after that, the error without waiting for it.
    const stop = (why: string): void => {
      if (stopped !== undefined) return;
      stopped = why;
      signalGroup('SIGTERM');
      timers.push(setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS));
      timers.push(
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          child.unref();
          fail(`${why}; some of it could not be stopped (still running after SIGKILL)`, null, null);
        }, 2 * STOP_GRACE_MS),
      );
    };
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8').on('data', (d: string) => {
        out[stream] += d;
        if (out[stream].length > maxChars) stop(`its ${stream} passed ${maxChars} characters`);
      });
    }
    timers.push(
      setTimeout(() => {
        const stacks = child.pid === undefined ? [] : processGroupStacks(child.pid);
        stop(`it did not finish within ${timeoutMs / 1000} s; its threads then: ${stacks.join(' | ') || 'none left'}`);
      }, timeoutMs),
    );
    child.once('error', (err) => fail(err.message, null, null));
    // 'close': it has exited and every process holding its output has too.
    child.once('close', (code, signal) => {
      if (stopped === undefined && code === 0) {
        settled = true;
        timers.forEach(clearTimeout);
        resolve(out);
        return;
      }
      fail(stopped ?? (signal ? `it was killed by ${signal}` : `it exited with status ${code}`), code, signal);
    });
  });
}
