/**
 * A short run of the device's coverage-guided fuzz targets (issue 16): from
 * the seed corpus in the repository, each target runs for SECONDS under
 * ASan and UBSan; an input that crashes QEMU fails the test, and is kept in
 * out/fuzz/<target>/ for `npm run fuzz` to reproduce.
 */
import { describe, expect, test } from 'vitest';
import { FUZZ_TARGETS, formatFuzz, runFuzz } from '../lib/fuzz.js';
import { readManifest } from '../lib/manifest.js';

const SECONDS = 75;
const binary = (await readManifest()).qemuFuzz;

const title = `generic-fuzz, a short run per target${binary ? '' : ' (skipped: the build has no fuzz binary; npm test builds it)'}`;

describe.skipIf(!binary)(title, () => {
  test.each([...FUZZ_TARGETS])('generic-fuzz-%s runs without a crash', { timeout: (SECONDS + 120) * 1000 }, async (target) => {
    const r = await runFuzz(binary as string, target, SECONDS);
    process.stdout.write(`${formatFuzz(r)}\n`);
    expect(r.crashes, `${formatFuzz(r)}\n${r.tail}`).toEqual([]);
    expect(r.exitCode, r.tail).toBe(0);
    expect(r.execs, 'inputs run').toBeGreaterThan(0);
    expect(r.edges, 'coverage counters hit').toBeGreaterThan(0);
  });
});
