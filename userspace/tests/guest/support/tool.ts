/**
 * The suite's C tools (/ossa/tools), run as child processes that cannot
 * outlive their test: each runs in a process group of its own, and one
 * that has not finished in time is stopped with every process it started,
 * the error saying where each of its threads was in the kernel. Its time
 * is below the host's silence timeout (ci/lib/vm.ts, 180 s), so that a
 * stuck tool fails its own test, with that evidence, rather than the
 * whole guest run.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { whereInKernel } from '../../../../ci/lib/task-dump.js';

/** The most a tool may take: the slowest (a fault-injection sweep under the debug kernel) takes 40 s. */
export const TOOL_TIMEOUT_MS = 150_000;
/** A test that runs one tool: its time, and a margin to read the stacks and stop it. */
export const TOOL_TEST_TIMEOUT_MS = TOOL_TIMEOUT_MS + 20_000;

export interface ToolOptions {
  timeoutMs?: number;
  /** The most output kept of each stream, in bytes. */
  maxBuffer?: number;
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

/**
 * Runs @path with @args to its end. Resolves with its output when it
 * exits with status 0; rejects with a ToolError otherwise, and when it
 * has not finished within the time (stopping its whole process group).
 */
export function runTool(path: string, args: readonly string[], options: ToolOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const timeoutMs = options.timeoutMs ?? TOOL_TIMEOUT_MS;
  const maxBuffer = options.maxBuffer ?? 64 << 20;
  const name = basename(path);
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = { stdout: '', stderr: '' };
    let stopped: string | undefined;
    const stop = (why: string): void => {
      if (stopped !== undefined || child.pid === undefined) return;
      stopped = why;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group has gone meanwhile
      }
    };
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8').on('data', (d: string) => {
        out[stream] += d;
        if (out[stream].length > maxBuffer) stop(`its ${stream} passed ${maxBuffer} bytes`);
      });
    }
    const timer = setTimeout(() => {
      const stacks = child.pid === undefined ? [] : processGroupStacks(child.pid);
      stop(`it did not finish within ${timeoutMs / 1000} s; its threads then: ${stacks.join(' | ') || 'none left'}`);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new ToolError(`${name}: ${err.message}`, null, null, out.stdout, out.stderr));
    });
    // 'close': it has exited and every process holding its output has too.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (stopped === undefined && code === 0) {
        resolve(out);
        return;
      }
      const how = stopped ?? (signal ? `it was killed by ${signal}` : `it exited with status ${code}`);
      reject(new ToolError(`${name} ${args.join(' ')}: ${how}\nstdout: ${out.stdout}\nstderr: ${out.stderr}`, code, signal, out.stdout, out.stderr));
    });
  });
}
