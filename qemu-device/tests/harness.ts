/**
 * Vitest glue: one QEMU per test file, a clean device before each test,
 * bounded polling.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { Ossa, type OssaOptions } from './device.js';
import { R } from './regs.js';

export interface UseOssaOptions extends OssaOptions {
  /** Soft-reset and re-set up the device before each test (default true). */
  freshEachTest?: boolean;
}

/** Starts one QEMU for the file; returns an accessor for the device. */
export function useOssa(opts: UseOssaOptions = {}): () => Ossa {
  let dev: Ossa | undefined;
  beforeAll(async () => {
    dev = await Ossa.start(opts);
  });
  afterAll(async () => {
    await dev?.close();
  });
  if (opts.freshEachTest ?? true) {
    beforeEach(async () => {
      if (!dev) throw new Error('QEMU did not start');
      if (!dev.qt.alive) throw new Error(`QEMU died:\n${dev.qt.stderrText}`);
      await dev.fresh();
    });
  }
  return () => {
    if (!dev) throw new Error('QEMU did not start');
    return dev;
  };
}

/** Calls `fn` until it returns true, at most `tries` times; returns the last result. */
export async function pollUntil(fn: () => Promise<boolean>, tries = 2000): Promise<boolean> {
  for (let i = 0; i < tries; i += 1) if (await fn()) return true;
  return false;
}

/** Polls Q_STATUS of queue q until ERROR is set; returns Q_STATUS. */
export async function waitQueueError(dev: Ossa, q: number, tries = 2000): Promise<number> {
  let st = 0;
  await pollUntil(async () => {
    st = await dev.readQ(q, R.REG_Q_STATUS);
    return (st & R.Q_STATUS_ERROR) !== 0;
  }, tries);
  return st;
}

/** The error code field of a Q_STATUS value. */
export function statusCode(st: number): number {
  return (st & R.Q_STATUS_CODE_MASK) >>> R.Q_STATUS_CODE_SHIFT;
}

/** The number of guest-error log lines so far. */
export async function logCount(dev: Ossa): Promise<number> {
  return (await dev.qt.guestErrors()).length;
}

/** Splits a 64-bit value into its _LO and _HI register halves. */
export function split64(v: bigint): [number, number] {
  return [Number(v & 0xffff_ffffn), Number((v >> 32n) & 0xffff_ffffn)];
}

export function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}
