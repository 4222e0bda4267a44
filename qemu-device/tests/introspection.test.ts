/**
 * QEMU describes the device without realizing it: `-device ossa,help`
 * lists its properties from an instance that is created and finalized
 * before QEMU's main loop exists, so creating the instance may not need
 * the main loop (its bottom halves and timers are made at realize).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { defaultQemu } from './qtest.js';

describe('introspection', () => {
  test('-device ossa,help lists the device\'s properties and exits 0', async () => {
    const qemu = await defaultQemu();
    // LeakSanitizer is left out: QEMU's help path exits without freeing its own objects.
    const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' };
    const run = await promisify(execFile)(qemu, ['-device', 'ossa,help'], { env }).catch(
      (err: { code?: number; signal?: string; stderr?: string }) => {
        throw new Error(`QEMU failed (exit ${err.code}, signal ${err.signal}):\n${err.stderr ?? ''}`);
      },
    );
    expect(run.stdout).toMatch(/^ossa options:/m);
    for (const prop of ['fault-injection', 'msix', 'inject-hang', 'inject-delay-us']) expect(run.stdout).toContain(`${prop}=`);
  });
});
