/**
 * A fuzz campaign: one target fuzzed towards a number of executions in
 * several runs ("slices"), each starting from the working corpus the ones
 * before it grew, the way ClusterFuzz runs a target in time-boxed fuzzing
 * tasks over a kept corpus. A slice fits a machine that is free only for
 * a while (a session, a night), and a slice that is killed keeps what it
 * reported: its record is written as libFuzzer prints its status lines (at
 * most every 10 s), and crash files no slice claims are given, on the next
 * load, to the slice that was killed.
 *
 * generic-fuzz runs every input in a fork of the QEMU it set up, so no
 * input sees the state another one left: what a slice boundary loses is
 * libFuzzer's own state (its mutation dictionary and corpus weights), not
 * device state. A campaign belongs to one fuzz binary (its build key): a
 * changed device, QEMU or fuzz build starts a new one, and the old record
 * is kept beside it as campaign-<key>.json (resumed if that binary comes
 * back).
 *
 * The record is out/fuzz/<target>/campaign.json. Two campaigns of one
 * target at once would overwrite each other's record: run one at a time.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { crashFiles, type FuzzOptions, type FuzzResult, type FuzzTarget, fuzzDir, runFuzz } from './fuzz.js';
import { repoRoot } from './paths.js';
import { log } from './progress.js';

/** A slice's figures: those of its run (its crashes are files in out/fuzz/<target>/). */
type SliceFigures = Pick<FuzzResult, 'seconds' | 'execs' | 'edges' | 'features' | 'corpus' | 'crashes'>;

export interface CampaignSlice extends SliceFigures {
  /** ISO time the slice started. */
  started: string;
  /** The repository's commit it ran at. */
  commit: string;
  /** Processes (libFuzzer -fork) or 1. */
  jobs: number;
  /**
   * running: being run, or killed before it ended when read by another
   * process (its figures are those of its last status line); done: ended
   * by its time or the campaign's goal; failed: libFuzzer exited non-zero.
   */
  state: 'running' | 'done' | 'failed';
}

export interface Campaign {
  target: FuzzTarget;
  /** Build key of the fuzz binary every slice ran. */
  binaryKey: string;
  /** Executions the campaign is after. */
  goal: number;
  slices: CampaignSlice[];
}

export interface CampaignTotals {
  slices: number;
  execs: number;
  seconds: number;
  /** Coverage of the latest slice (each slice starts from the grown corpus). */
  edges: number;
  features: number;
  crashes: string[];
  reached: boolean;
}

export function campaignFile(target: FuzzTarget, dir = fuzzDir(target)): string {
  return join(dir, 'campaign.json');
}

export function campaignTotals(c: Campaign): CampaignTotals {
  const last = c.slices.at(-1);
  const execs = c.slices.reduce((n, s) => n + s.execs, 0);
  return {
    slices: c.slices.length,
    execs,
    seconds: c.slices.reduce((n, s) => n + s.seconds, 0),
    edges: last?.edges ?? 0,
    features: last?.features ?? 0,
    crashes: c.slices.flatMap((s) => s.crashes),
    reached: execs >= c.goal,
  };
}

export function formatCampaign(c: Campaign): string {
  const t = campaignTotals(c);
  const rate = t.seconds ? Math.round(t.execs / t.seconds) : 0;
  const killed = c.slices.filter((s) => s.state === 'running').length;
  return (
    `fuzz: campaign generic-fuzz-${c.target} (binary ${c.binaryKey}): ${t.execs} of ${c.goal} execs ` +
    `(${t.reached ? 'goal reached' : `${c.goal - t.execs} to go`}) in ${t.slices} slice(s)` +
    `${killed ? `, ${killed} of them killed before their end` : ''}, ${t.seconds} s (${rate}/s), ` +
    `${t.edges} edges, ${t.features} features, ` +
    `${t.crashes.length ? `CRASHES ${t.crashes.length}: ${t.crashes.join(', ')}` : 'no crash'}`
  );
}

/**
 * The target's campaign for `binaryKey`: the record in `dir`, the one kept
 * aside for that binary, or a new one. A record of another binary is
 * moved aside (campaign-<key>.json). `goal`, when given, replaces the
 * record's (default for a new one: `defaultGoal`). A slice still marked
 * running was killed: crash files that no slice claims are its.
 */
export async function loadCampaign(
  target: FuzzTarget,
  binaryKey: string,
  goal: number | undefined,
  defaultGoal: number,
  dir = fuzzDir(target),
): Promise<{ campaign: Campaign; note?: string }> {
  const file = campaignFile(target, dir);
  const aside = (key: string): string => join(dir, `campaign-${key}.json`);
  let note: string | undefined;
  let source = file;
  if (existsSync(file)) {
    const current = JSON.parse(await readFile(file, 'utf8')) as Campaign;
    if (current.binaryKey !== binaryKey) {
      await rename(file, aside(current.binaryKey));
      source = aside(binaryKey);
      note = `the fuzz binary changed (${current.binaryKey} -> ${binaryKey}): the record of ${current.binaryKey} is kept as ${aside(current.binaryKey)}; `;
      note += existsSync(source) ? `the campaign of ${binaryKey} resumes from ${source}` : 'a new campaign starts';
    }
  } else if (existsSync(aside(binaryKey))) {
    source = aside(binaryKey);
    note = `the campaign of ${binaryKey} resumes from ${source}`;
  }
  if (!existsSync(source)) return { campaign: { target, binaryKey, goal: goal ?? defaultGoal, slices: [] }, ...(note ? { note } : {}) };
  const campaign = JSON.parse(await readFile(source, 'utf8')) as Campaign;
  if (source !== file) await rename(source, file);
  if (goal !== undefined) campaign.goal = goal;
  const killed = campaign.slices.filter((sl) => sl.state === 'running').at(-1);
  if (killed) {
    const claimed = new Set(campaign.slices.flatMap((sl) => sl.crashes));
    if (existsSync(dir)) killed.crashes.push(...(await crashFiles(dir)).filter((f) => !claimed.has(f)));
  }
  return { campaign, ...(note ? { note } : {}) };
}

export async function saveCampaign(c: Campaign, dir = fuzzDir(c.target)): Promise<void> {
  const file = campaignFile(c.target, dir);
  await mkdir(dir, { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(c, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/** How often a running slice's record is written, at most. */
const SAVE_EVERY_MS = 10_000;

/**
 * Runs one slice of `c` for at most `seconds`, or until the campaign has
 * its goal, recording it as it goes. Returns the slice's result.
 */
export async function runSlice(binary: string, c: Campaign, seconds: number, opts: Pick<FuzzOptions, 'jobs'> = {}): Promise<FuzzResult> {
  const left = c.goal - campaignTotals(c).execs;
  if (left <= 0) throw new Error(`campaign generic-fuzz-${c.target} already has its ${c.goal} executions`);
  const commit = (await execa('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot })).stdout.trim();
  const slice: CampaignSlice = {
    started: new Date().toISOString(),
    commit,
    jobs: opts.jobs ?? 1,
    seconds: 0,
    execs: 0,
    edges: 0,
    features: 0,
    corpus: 0,
    crashes: [],
    state: 'running',
  };
  c.slices.push(slice);
  await saveCampaign(c);
  const start = performance.now();
  let saved = start;
  let saving: Promise<void> = Promise.resolve();
  const r = await runFuzz(binary, c.target, seconds, {
    ...opts,
    runs: left,
    onStatus: (s) => {
      Object.assign(slice, { execs: s.runs, edges: s.edges, features: s.features, corpus: s.corpus });
      slice.seconds = Math.round((performance.now() - start) / 1000);
      if (performance.now() - saved < SAVE_EVERY_MS) return;
      saved = performance.now();
      // A record that cannot be written is said, not fatal: the run goes on.
      saving = saving.then(() => saveCampaign(c)).catch((err: unknown) => log(`fuzz: campaign record not written: ${(err as Error).message}`));
    },
  });
  await saving;
  const { seconds: spent, execs, edges, features, corpus, crashes } = r;
  Object.assign(slice, { seconds: spent, execs, edges, features, corpus, crashes, state: r.exitCode === 0 ? 'done' : 'failed' });
  await saveCampaign(c);
  return r;
}
