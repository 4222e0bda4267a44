/**
 * Run before every guest test file (vitest setupFiles): after the file,
 * the kernel log must hold no warning, bug, oops or undeclared ossa error,
 * and the driver's object counts must be back where they were.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { liveObjects, until } from './debugfs.js';
import { kernelLogSeq, kernelLogSince, kernelTrouble } from './kernel-log.js';

let seq = -1;
let baseline: ReturnType<typeof liveObjects> | undefined;

beforeAll(() => {
  seq = kernelLogSeq();
  baseline = liveObjects();
});

afterAll(async () => {
  const want = baseline;
  await until(() => JSON.stringify(liveObjects()) === JSON.stringify(want), 5000);
  const trouble = kernelTrouble(kernelLogSince(seq));
  expect(trouble.join('\n'), 'kernel log during this file').toBe('');
  expect(liveObjects(), 'driver objects (debugfs stats) back to their count before this file').toEqual(want);
});
