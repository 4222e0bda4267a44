/**
 * A short run of the device's coverage-guided fuzz targets (issue 16): from
 * the seed corpus in the repository, each target runs for SECONDS under
 * ASan and UBSan; an input that crashes QEMU fails the test, and is kept in
 * out/fuzz/<target>/ for `npm run fuzz` to reproduce.
 */
import { describe, expect, test } from 'vitest';
import { FUZZ_TARGETS, formatFuzz, lastStatus, runFuzz } from '../lib/fuzz.js';
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

describe('libFuzzer status lines', () => {
  test('one process: the last "#N KIND cov:" line', () => {
    const out = ['INFO: Seed: 1', '#7349\tREDUCE cov: 2232 ft: 2852 corp: 103/3828b lim: 68 exec/s: 141', '#7378\tNEW    cov: 2233 ft: 2853 corp: 104/3823b lim: 68'].join('\n');
    expect(lastStatus(out, false)).toEqual({ runs: 7378, edges: 2233, features: 2853, corpus: 104 });
  });

  test('-fork: the parent\'s "#N: cov:" lines, not those of a job\'s log it copies out after a crash', () => {
    const out = [
      '#351092: cov: 6725 ft: 4425 corp: 277 exec/s 44 oom/timeout/crash: 0/0/0 time: 1669s job: 76 dft_time: 0',
      '#358541: cov: 6727 ft: 4429 corp: 279 exec/s 137 oom/timeout/crash: 0/0/0 time: 1727s job: 78 dft_time: 0',
      '#7008\tNEW    cov: 2232 ft: 2851 corp: 102/3855b lim: 68 exec/s: 140 rss: 387Mb',
    ].join('\n');
    expect(lastStatus(out, true)).toEqual({ runs: 358541, edges: 6727, features: 4429, corpus: 279 });
    expect(lastStatus(out, false).runs).toBe(7008);
  });
});
