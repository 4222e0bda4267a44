/**
 * A short run of the device's coverage-guided fuzz targets (issue 16): from
 * the seed corpus in the repository, each target runs for SECONDS under
 * ASan and UBSan; an input that crashes QEMU fails the test, and is kept in
 * out/fuzz/<target>/ for `npm run fuzz` to reproduce.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FUZZ_TARGETS, formatFuzz, runFuzz, statusOf } from '../lib/fuzz.js';
import { type Campaign, type CampaignSlice, campaignTotals, formatCampaign, loadCampaign, saveCampaign } from '../lib/fuzz-campaign.js';
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
  test('one process: each "#N KIND cov:" line', () => {
    expect(statusOf('INFO: Seed: 1', false)).toBeUndefined();
    expect(statusOf('#7349\tREDUCE cov: 2232 ft: 2852 corp: 103/3828b lim: 68 exec/s: 141', false)).toEqual({ runs: 7349, edges: 2232, features: 2852, corpus: 103 });
    expect(statusOf('#7378\tNEW    cov: 2233 ft: 2853 corp: 104/3823b lim: 68', false)).toEqual({ runs: 7378, edges: 2233, features: 2853, corpus: 104 });
  });

  test('-fork: the parent\'s "#N: cov:" lines, not those of a job\'s log it copies out after a crash', () => {
    const parent = '#358541: cov: 6727 ft: 4429 corp: 279 exec/s 137 oom/timeout/crash: 0/0/0 time: 1727s job: 78 dft_time: 0';
    const job = '#7008\tNEW    cov: 2232 ft: 2851 corp: 102/3855b lim: 68 exec/s: 140 rss: 387Mb';
    expect(statusOf(parent, true)).toEqual({ runs: 358541, edges: 6727, features: 4429, corpus: 279 });
    expect(statusOf(job, true)).toBeUndefined();
    expect(statusOf(job, false)?.runs).toBe(7008);
  });
});

describe('fuzz campaigns', () => {
  const slice = (execs: number, seconds: number, edges: number, crashes: string[] = []): CampaignSlice => ({
    started: '2026-12-02T08:00:00.000Z',
    commit: 'abc',
    jobs: 2,
    seconds,
    execs,
    edges,
    features: edges * 2,
    corpus: 10,
    crashes,
    state: 'done',
  });

  test('totals add the slices up; coverage is the latest slice\'s', () => {
    const c: Campaign = { target: 'ossa', binaryKey: 'k1', goal: 1000, slices: [slice(600, 60, 2400), slice(500, 50, 2450)] };
    expect(campaignTotals(c)).toEqual({ slices: 2, execs: 1100, seconds: 110, edges: 2450, features: 4900, crashes: [], reached: true });
    expect(formatCampaign(c)).toContain('1100 of 1000 execs (goal reached) in 2 slice(s), 110 s (10/s), 2450 edges');
    c.slices.push({ ...slice(50, 5, 2450, ['out/fuzz/ossa/crash-1']), state: 'running' });
    expect(formatCampaign(c)).toMatch(/1150 of 1000 .* 3 slice\(s\), 1 of them killed before their end, .*CRASHES 1: out\/fuzz\/ossa\/crash-1/);
  });

  test('a record of another fuzz binary is moved aside and a new campaign starts; the same binary resumes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ossa-campaign-'));
    try {
      await saveCampaign({ target: 'ossa', binaryKey: 'k1', goal: 1000, slices: [slice(600, 60, 2400)] }, dir);
      const same = await loadCampaign('ossa', 'k1', undefined, 5000, dir);
      expect(same.note).toBeUndefined();
      expect(same.campaign, 'the stored goal, when none is given').toMatchObject({ binaryKey: 'k1', goal: 1000 });
      expect(same.campaign.slices).toHaveLength(1);
      expect((await loadCampaign('ossa', 'k1', 2000, 5000, dir)).campaign.goal, 'a goal given replaces it').toBe(2000);
      const other = await loadCampaign('ossa', 'k2', undefined, 5000, dir);
      expect(other.note).toMatch(/fuzz binary changed \(k1 -> k2\).*a new campaign starts/);
      expect(other.campaign).toEqual({ target: 'ossa', binaryKey: 'k2', goal: 5000, slices: [] });
      expect(existsSync(join(dir, 'campaign-k1.json')), 'the old record, kept').toBe(true);
      expect(existsSync(join(dir, 'campaign.json')), 'no record until the new campaign saves one').toBe(false);
      const back = await loadCampaign('ossa', 'k1', undefined, 5000, dir);
      expect(back.note).toMatch(/campaign of k1 resumes/);
      expect(back.campaign.slices, 'the kept record, resumed').toHaveLength(1);
      expect(existsSync(join(dir, 'campaign.json'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a slice killed while running gets the crash files no slice claims', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ossa-campaign-'));
    try {
      const old = join(dir, 'crash-old');
      await writeFile(old, 'x');
      await writeFile(join(dir, 'crash-new'), 'x');
      await writeFile(join(dir, 'corpus-note'), 'x');
      const killed: CampaignSlice = { ...slice(40, 4, 2400), state: 'running' };
      await saveCampaign({ target: 'ossa', binaryKey: 'k1', goal: 1000, slices: [slice(600, 60, 2400, [old]), killed] }, dir);
      const { campaign } = await loadCampaign('ossa', 'k1', undefined, 5000, dir);
      expect(campaign.slices.map((sl) => sl.crashes)).toEqual([[old], [join(dir, 'crash-new')]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
