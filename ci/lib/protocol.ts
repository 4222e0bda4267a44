/**
 * The results channel between the guest and the host: one JSON object per
 * line on the virtio-serial port named RESULTS_PORT, separate from the
 * console. The guest's /init writes `setup` lines; the guest runner writes
 * the rest.
 */

export const RESULTS_PORT = 'org.ossa.results';

/**
 * Milliseconds without a message on the results channel after which the
 * guest runner dumps every thread's stack to the console (ci/guest/runner.ts),
 * before the host gives up on the guest (vm.ts, 180 s). A test meant to run
 * silent for long keeps its timeout below it, so that a timeout fails that
 * test alone: the dump's kernel messages would fail the test after it too.
 */
export const HANG_DUMP_MS = 150_000;

/**
 * The control channel: a second virtio-serial port on which the guest asks
 * the host to act on the machine (ci/lib/hotplug.ts, ci/lib/device-trace.ts).
 * Its messages are the library's: its trace tool is a client too.
 */
export { CONTROL_PORT, type ControlReply, type ControlRequest } from '../../userspace/src/trace/host-port.js';

import type { IoctlRecord } from './coverage.js';

export type TestState = 'pass' | 'fail' | 'skip';

export interface GuestTestResult {
  /** The test file, relative to the suite's root. */
  file: string;
  /** Describe blocks and test name joined with " > ". */
  name: string;
  state: TestState;
  durationMs: number;
  /** For failures: the message and stack; for skips: the reason, if any. */
  message?: string;
  /** The DRM ioctls the test issued, when the guest could trace them. */
  ioctls?: IoctlRecord;
}

export type GuestMessage =
  /** /init is running: the guest's uptime in seconds. */
  | { type: 'boot'; uptime: number }
  /** A setup step of /init, e.g. loading the driver. */
  | { type: 'setup'; step: string; ok: boolean; message?: string; uptime?: number }
  /**
   * A step of the guest runner's start-up, e.g. "vitest loaded"; `ago`:
   * how many seconds before this message it happened (default 0).
   */
  | { type: 'phase'; name: string; ago?: number }
  /** The test runner started. */
  | { type: 'suite-start'; uptime: number; files: number }
  | ({ type: 'test' } & GuestTestResult)
  /**
   * A test file finished. `seconds`: the guest's wall time since the
   * previous file finished (or the run started), so imports, hooks and the
   * setup file's checks count: files run one after another.
   */
  | { type: 'file-end'; file: string; seconds: number }
  /** An error outside any test: a file that failed to load, an unhandled error. */
  | { type: 'error'; file?: string; message: string }
  | { type: 'suite-end'; uptime: number; passed: number; failed: number; skipped: number }
  /**
   * A gcov data file of the driver (debug kernel, after the suite): its
   * path under /sys/kernel/debug/gcov and its bytes in base64.
   */
  | { type: 'gcov'; path: string; data: string }
  /** A benchmark's measurements (npm run bench). */
  | { type: 'bench'; name: string; data: unknown };

export function parseGuestMessage(line: string): GuestMessage | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') {
      return value as GuestMessage;
    }
  } catch {
    // not a protocol line
  }
  return undefined;
}
