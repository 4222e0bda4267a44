/**
 * The runner of the suite's C tools (support/tool.ts): a tool that does
 * not finish in time fails its test with where each of its threads was in
 * the kernel, and leaves no process behind; one that fails says how.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { runTool, ToolError } from './support/tool.js';

/** Whether a process runs whose arguments contain @marker. */
function running(marker: string): boolean {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(marker);
      } catch {
        return false; // gone meanwhile
      }
    });
}

describe('the C tools runner', () => {
  test('a tool that exits 0 gives its output; one that fails is a ToolError with its status and output', async () => {
    expect(await runTool('/bin/busybox', ['sh', '-c', 'echo out; echo err >&2'])).toEqual({ stdout: 'out\n', stderr: 'err\n' });
    const err = await runTool('/bin/busybox', ['sh', '-c', 'echo why >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect(err).toMatchObject({ code: 3, signal: null, stderr: 'why\n' });
    expect((err as Error).message).toMatch(/^busybox sh -c .*: it exited with status 3\n/);
  });

  test('a tool still running at its time is stopped with every process it started, and the error says where each thread was', async () => {
    // The shell and a child of its own, both asleep; neither may be left.
    const err = await runTool('/bin/busybox', ['sh', '-c', 'sleep 6001 & exec sleep 6002'], { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    // SIGTERM first: a tool may restore what it changed.
    expect(err).toMatchObject({ signal: 'SIGTERM' });
    const threads = /its threads then: (.*)\nstdout/.exec((err as Error).message)?.[1]?.split(' | ') ?? [];
    expect(threads, (err as Error).message).toHaveLength(2);
    // /proc/PID/stack leaves out the scheduler's own functions, do_nanosleep among them.
    for (const t of threads) expect(t).toMatch(/^\S+\[\d+\] S: (do_nanosleep < )?hrtimer_nanosleep\b/);
    expect(running('sleep 600')).toBe(false);
  });

  test('a stopped tool that ignores SIGTERM is killed', async () => {
    // SIG_IGN outlives exec: both sleeps ignore SIGTERM.
    const err = await runTool('/bin/busybox', ['sh', '-c', 'trap "" TERM; sleep 6003 & exec sleep 6004'], { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ signal: 'SIGKILL' });
    expect((err as Error).message).toMatch(/did not finish within 3 s/);
    expect(running('sleep 600')).toBe(false);
  });
});
