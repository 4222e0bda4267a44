/**
 * `npm run fuzz -- [--seconds N] [--runs N] [--jobs J] [--target ossa|ossa-msi] [--merge]`:
 * runs the device's generic-fuzz targets with libFuzzer for N seconds each
 * (default 300), or until N executions, in J processes (default 1), and
 * prints execs, coverage and crashes. --merge then adds
 * the inputs that found new coverage to the seed corpus in the repository.
 * Exits 1 when an input crashed QEMU (the input is kept in out/fuzz/).
 */
import { parseArgs } from 'node:util';
import { FUZZ_TARGETS, type FuzzTarget, formatFuzz, mergeIntoSeeds, runFuzz, SEED_CORPUS } from './lib/fuzz.js';
import { readManifest } from './lib/manifest.js';
import { log } from './lib/progress.js';

function usage(message: string): never {
  process.stderr.write(
    `fuzz: ${message}\nusage: npm run fuzz -- [--seconds N] [--runs N] [--jobs J] [--target ${FUZZ_TARGETS.join('|')}] [--merge]\n`,
  );
  process.exit(2);
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
  const binary = (await readManifest()).qemuFuzz;
  if (!binary) usage('no fuzz binary in the build: build with `tsx ci/build.ts --fuzz` (npm run fuzz does)');

  let crashed = false;
  for (const t of targets) {
    log(`fuzz: generic-fuzz-${t} for ${seconds} s${runs ? ` or ${runs} executions` : ''}${jobs > 1 ? `, ${jobs} processes` : ''}`);
    const r = await runFuzz(binary, t, seconds, { jobs, ...(runs ? { runs } : {}) });
    log(formatFuzz(r));
    if (r.crashes.length || !r.execs) {
      crashed = true;
      process.stderr.write(`${r.tail}\n`);
    }
    if (values.merge && !r.crashes.length) {
      await mergeIntoSeeds(binary, t);
      log(`fuzz: merged what generic-fuzz-${t} found into ${SEED_CORPUS}`);
    }
  }
  process.exitCode = crashed ? 1 : 0;
}

await main();
