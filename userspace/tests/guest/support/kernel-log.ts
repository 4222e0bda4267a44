/**
 * The kernel log, read from /dev/kmsg: records after a point, and which of
 * them mean trouble. Tests that provoke a kernel message on purpose (a
 * device reset) declare it with expectKernelLog().
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';

export interface KernelRecord {
  level: number;
  seq: number;
  text: string;
}

function readAll(): KernelRecord[] {
  const fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(8192);
  const out: KernelRecord[] = [];
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') continue; // records overwritten meanwhile
        throw err;
      }
      const rec = buf.subarray(0, n).toString('utf8');
      const semi = rec.indexOf(';');
      const [prio, seq] = rec.slice(0, semi).split(',');
      out.push({ level: Number(prio) & 7, seq: Number(seq), text: rec.slice(semi + 1).split('\n')[0] ?? '' });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** The sequence number of the newest record. */
export function kernelLogSeq(): number {
  return readAll().reduce((m, r) => Math.max(m, r.seq), -1);
}

export function kernelLogSince(seq: number): KernelRecord[] {
  return readAll().filter((r) => r.seq > seq);
}

const expected: RegExp[] = [];

/** Declares a kernel message the current test file provokes on purpose. */
export function expectKernelLog(pattern: RegExp): void {
  expected.push(pattern);
}

/** Forgets the declarations of earlier test files (the suite's setup file, before each file). */
export function forgetExpectedKernelLog(): void {
  expected.length = 0;
}

/**
 * Kernel trouble, including the debug kernel's checkers: KASAN and
 * sleeping-in-atomic reports start with "BUG:", lockdep's with "WARNING:",
 * DEBUG_OBJECTS with "ODEBUG:", DMA-API debugging with "DMA-API:".
 */
const TROUBLE =
  /\bWARNING:|\bBUG:|\bOops\b|kernel BUG at|general protection fault|Call Trace:|------------\[ cut here \]|^ODEBUG: |^DMA-API: \S+ \S+: |UBSAN: |INFO: task .* blocked|rcu: INFO: /;

/**
 * Records that fail a test file: kernel warnings, bugs and oopses, and any
 * ossa message at warning level or worse that the file did not declare.
 */
export function kernelTrouble(records: readonly KernelRecord[]): string[] {
  return records
    .filter((r) => TROUBLE.test(r.text) || (r.level <= 4 && /\bossa\b/.test(r.text) && !expected.some((p) => p.test(r.text))))
    .map((r) => `<${r.level}> ${r.text}`);
}
