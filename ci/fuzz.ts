/**
 * `npm run fuzz -- [--seconds N] [--runs N] [--jobs J] [--target ossa|ossa-msi] [--campaign] [--merge]`:
 * runs the device's generic-fuzz targets with libFuzzer for N seconds each
 * (default 300), or until N executions, in J processes (default 1), and
 * prints execs, coverage and crashes. --campaign makes the run one slice of
 * the target's campaign (ci/lib/fuzz-campaign.ts): --runs is then the
 * campaign's goal (default 10^7), the slice stops at it or after N seconds,
 * and the campaign's totals are printed; a campaign that has its goal
 * prints them and runs nothing. --merge then adds the inputs that found new
 * coverage to the seed corpus in the repository.
 * Exits 1 when an input crashed QEMU (the input is kept in out/fuzz/).
 */
import { parseArgs } from 'node:util';
import { FUZZ_TARGETS, type FuzzTarget, formatFuzz, mergeIntoSeeds, runFuzz, SEED_CORPUS } from './lib/fuzz.js';
import { campaignTotals, formatCampaign, loadCampaign, runSlice } from './lib/fuzz-campaign.js';
import { readManifest } from './lib/manifest.js';
import { log } from './lib/progress.js';

/** A campaign's goal unless --runs says otherwise: issue 16's long run. */
const CAMPAIGN_GOAL = 10_000_000;

function usage(message: string): never {
  process.stderr.write(
    `fuzz: ${message}\nusage: npm run fuzz -- [--seconds N] [--runs N] [--jobs J] [--target ${FUZZ_TARGETS.join('|')}] [--campaign] [--merge]\n`,
  );
  process.exit(2);
}

async function merge(binary: string, t: FuzzTarget): Promise<void> {
  await mergeIntoSeeds(binary, t);
  log(`fuzz: merged what generic-fuzz-${t} found into ${SEED_CORPUS}`);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seconds: { type: 'string', default: '300' },
        runs: { type: 'string' },
        jobs: { type: 'string', default: '1' },
        target: { type: 'string' },
        campaign: { type: 'boolean', default: false },
        merge: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  const seconds = Number(values.seconds);
  if (!Number.isInteger(seconds) || seconds < 1) usage(`--seconds ${values.seconds}: not a whole number of seconds`);
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) usage(`--jobs ${values.jobs}: not a whole number of processes`);
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) usage(`--runs ${values.runs}: not a whole number of executions`);
  const target = values.target;
  if (target !== undefined && !(FUZZ_TARGETS as readonly string[]).includes(target)) usage(`--target ${target}: not one of ${FUZZ_TARGETS.join(', ')}`);
  const targets: FuzzTarget[] = target === undefined ? [...FUZZ_TARGETS] : [target as FuzzTarget];
  const manifest = await readManifest();
  const binary = manifest.qemuFuzz;
  const binaryKey = manifest.keys.qemuFuzz;
  if (!binary || !binaryKey) usage('no fuzz binary in the build: build with `tsx ci/build.ts --fuzz` (npm run fuzz does)');

  let crashed = false;
  for (const t of targets) {
    let r;
    if (values.campaign) {
      const { campaign, note } = await loadCampaign(t, binaryKey, runs, CAMPAIGN_GOAL);
      if (note) log(`fuzz: ${note}`);
      log(formatCampaign(campaign));
      const totals = campaignTotals(campaign);
      if (totals.crashes.length) crashed = true;
      if (totals.reached) {
        // Nothing to run; what the campaign found can still be merged.
        if (values.merge && !totals.crashes.length) await merge(binary, t);
        continue;
      }
      log(`fuzz: generic-fuzz-${t}: a campaign slice of at most ${seconds} s${jobs > 1 ? `, ${jobs} processes` : ''}`);
      r = await runSlice(binary, campaign, seconds, { jobs });
      log(formatFuzz(r));
      log(formatCampaign(campaign));
    } else {
      log(`fuzz: generic-fuzz-${t} for ${seconds} s${runs ? ` or ${runs} executions` : ''}${jobs > 1 ? `, ${jobs} processes` : ''}`);
      r = await runFuzz(binary, t, seconds, { jobs, ...(runs ? { runs } : {}) });
      log(formatFuzz(r));
    }
    if (r.crashes.length || !r.execs) {
      crashed = true;
      process.stderr.write(`${r.tail}\n`);
    }
    if (values.merge && !r.crashes.length) await merge(binary, t);
  }
  process.exitCode = crashed ? 1 : 0;
}

await main();
