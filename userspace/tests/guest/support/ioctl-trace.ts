/**
 * What a test did, seen from the kernel: every DRM ioctl that any process
 * issued while the test ran, with its result, from the syscall trace
 * events sys_enter_ioctl / sys_exit_ioctl. The coverage matrix is built
 * from these records, not from what test names claim.
 *
 * Guest tests run one at a time, so the trace buffer between a test's
 * start and its end holds that test's calls (its child processes too).
 */
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, join } from 'node:path';
import type { IoctlRecord } from '../../../../ci/lib/coverage.js';
import * as drm from '../../../src/drm.js';
import * as uapi from '../../../src/uapi.js';

const TRACING = '/sys/kernel/tracing';
const EVENTS = ['syscalls/sys_enter_ioctl', 'syscalls/sys_exit_ioctl'];
/** Per CPU; a stress test issues tens of thousands of ioctls. */
const BUFFER_KB = 8192;
const DRM_TYPE = 0x64; // 'd'

/** DRM ioctl number (low byte of the request) -> row name of the coverage matrix. */
const NAMES = new Map<number, string>();
for (const [name, value] of [...Object.entries(drm), ...Object.entries(uapi)]) {
  if (typeof value === 'number' && name.startsWith('DRM_IOCTL_') && name !== 'DRM_IOCTL_BASE') {
    NAMES.set(value & 0xff, name.replace(/^DRM_IOCTL_(OSSA_)?/, ''));
  }
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

export function ioctlTraceAvailable(): boolean {
  return EVENTS.every((e) => existsSync(join(TRACING, 'events', e, 'enable')));
}

/** Turns the two events on (once per file is enough) and empties the buffer. */
export function startIoctlTrace(): void {
  writeFileSync(join(TRACING, 'buffer_size_kb'), String(BUFFER_KB));
  for (const e of EVENTS) writeFileSync(join(TRACING, 'events', e, 'enable'), '1');
  writeFileSync(join(TRACING, 'tracing_on'), '1');
  clearIoctlTrace();
}

export function clearIoctlTrace(): void {
  writeFileSync(join(TRACING, 'trace'), '');
}

// "  node-123  [001] .....  12.345678: sys_ioctl(fd: e, cmd: c0106440, arg: 7ffd5c3a1b20)"
// (Linux 7.x: "sys_ioctl(fd: 0x16, cmd: 0xc0406400, arg: 0x7fd0b40da680)")
// "  node-123  [001] .....  12.345699: sys_ioctl -> 0xffffffffffffffea"
const ENTER = /-(\d+)\s+\[\d+\][^:]*: sys_ioctl\(fd: (?:0x)?[0-9a-f]+, cmd: (?:0x)?([0-9a-f]+), arg: (?:0x)?[0-9a-f]+\)/;
const EXIT = /-(\d+)\s+\[\d+\][^:]*: sys_ioctl -> 0x([0-9a-f]+)/;

/**
 * Parses the trace: DRM ioctls by name, with how many calls succeeded and
 * how many failed with each errno. Calls still running at the end (a wait
 * that outlived its test) count as calls with no result.
 */
export function parseIoctlTrace(text: string): IoctlRecord {
  const pending = new Map<string, string>();
  const record: IoctlRecord = {};
  const entry = (name: string): IoctlRecord[string] => (record[name] ??= { calls: 0, ok: 0, errors: {} });
  let lost = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      // "# entries-in-buffer/entries-written: 120/125": the ring overwrote some.
      const counts = /entries-in-buffer\/entries-written: (\d+)\/(\d+)/.exec(line);
      if (counts && counts[1] !== counts[2]) lost = true;
      continue;
    }
    const enter = ENTER.exec(line);
    if (enter) {
      const cmd = Number.parseInt(enter[2] as string, 16);
      pending.delete(enter[1] as string);
      if (((cmd >>> 8) & 0xff) !== DRM_TYPE) continue;
      const nr = cmd & 0xff;
      const name = NAMES.get(nr) ?? `0x${nr.toString(16).padStart(2, '0')}`;
      entry(name).calls++;
      pending.set(enter[1] as string, name);
      continue;
    }
    const exit = EXIT.exec(line);
    if (!exit && /: sys_ioctl\b/.test(line)) {
      // A kernel whose syscall events print another way: say so, rather
      // than count no calls.
      throw new Error(`ioctl trace: a sys_ioctl line of a format this parser does not know: ${line.trim()}`);
    }
    if (exit) {
      const name = pending.get(exit[1] as string);
      if (!name) continue;
      pending.delete(exit[1] as string);
      const ret = BigInt.asIntN(64, BigInt(`0x${exit[2] as string}`));
      const e = entry(name);
      if (ret >= 0n) e.ok++;
      else {
        const code = ERRNO_NAMES.get(Number(-ret)) ?? `errno ${-ret}`;
        e.errors[code] = (e.errors[code] ?? 0) + 1;
      }
    }
  }
  if (lost) record['(trace overflowed)'] = { calls: 0, ok: 0, errors: {} };
  return record;
}

/** The calls since the last take, and a fresh buffer for the next test. */
export function takeIoctlRecord(): IoctlRecord {
  const text = readFileSync(join(TRACING, 'trace'), 'utf8');
  clearIoctlTrace();
  return parseIoctlTrace(text);
}

/**
 * The ioctl requests this thread issued while `fn` ran, in order, read
 * from the trace without consuming it (the test's own record stays whole).
 * Trace lines name the thread (the kernel's pid), not the process.
 */
export function ioctlRequestsDuring(fn: () => void): number[] {
  const tid = Number(basename(readlinkSync('/proc/thread-self')));
  const mine = (): number[] => {
    const requests: number[] = [];
    for (const line of readFileSync(join(TRACING, 'trace'), 'utf8').split('\n')) {
      const m = ENTER.exec(line);
      if (m && Number(m[1]) === tid) requests.push(Number.parseInt(m[2] as string, 16) >>> 0);
    }
    return requests;
  };
  const before = mine().length;
  fn();
  return mine().slice(before);
}
