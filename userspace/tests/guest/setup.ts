/**
 * Run before every guest test file (vitest setupFiles; all files share one
 * worker, and vitest evaluates this file afresh for each, which it cannot
 * do for the files it leaves to Node, as it does support/):
 * - each test's DRM ioctls are recorded from the kernel's syscall trace,
 *   for the coverage matrix (support/ioctl-trace.ts);
 * - after each test, the kernel log since it began must hold no warning,
 *   bug, oops, debug-checker report or undeclared ossa error, so that a
 *   KASAN, lockdep, DEBUG_OBJECTS or DMA-API report fails the test that
 *   was running (the whole report stays in the console log);
 * - after the file, the driver's object counts must be back where they
 *   were, and on a kernel with kmemleak a scan must find nothing new.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { liveObjects, until } from './support/debugfs.js';
import { clearIoctlTrace, ioctlTraceAvailable, startIoctlTrace, takeIoctlRecord } from './support/ioctl-trace.js';
import { forgetExpectedKernelLog, kernelLogSeq, kernelLogSince, kernelTrouble } from './support/kernel-log.js';
import { kmemleakAvailable, kmemleakScan } from './support/kmemleak.js';

// What an earlier file declared does not excuse this file's messages
// (vitest runs no hooks for a file whose tests are all skipped or that
// fails to load, but evaluates this file before each file's own code).
forgetExpectedKernelLog();

let fileSeq = -1;
let testSeq = -1;
let baseline: ReturnType<typeof liveObjects> | undefined;
const tracing = ioctlTraceAvailable();

beforeAll(() => {
  fileSeq = kernelLogSeq();
  baseline = liveObjects();
  if (tracing) startIoctlTrace();
});

beforeEach(() => {
  testSeq = kernelLogSeq();
  if (tracing) clearIoctlTrace();
});

afterEach((context) => {
  if (tracing) (context.task.meta as { ioctls?: unknown }).ioctls = takeIoctlRecord();
  const trouble = kernelTrouble(kernelLogSince(testSeq));
  // Reported once, by the test that was running; the file check skips it.
  testSeq = kernelLogSeq();
  fileSeq = Math.max(fileSeq, testSeq);
  expect(trouble.join('\n'), 'kernel log during this test (whole report: the console log)').toBe('');
});

afterAll(async () => {
  const want = baseline;
  await until(() => JSON.stringify(liveObjects()) === JSON.stringify(want), 5000);
  const trouble = kernelTrouble(kernelLogSince(fileSeq));
  expect(trouble.join('\n'), 'kernel log after this file\'s last test').toBe('');
  expect(liveObjects(), 'driver objects (debugfs stats) back to their count before this file').toEqual(want);
  if (kmemleakAvailable()) {
    expect(kmemleakScan(), 'kmemleak: objects leaked (unreferenced for 5 s or more) by this file or an earlier one').toBe('');
  }
});
