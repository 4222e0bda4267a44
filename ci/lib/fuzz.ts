/**
 * Runs the device's coverage-guided fuzz targets: QEMU's generic-fuzz with
 * libFuzzer (the qemu-fuzz-x86_64 binary of `ci/build.ts --fuzz`), under
 * AddressSanitizer and UBSan. generic-fuzz-ossa drives the device with
 * MSI-X, generic-fuzz-ossa-msi with msix=off: register and config-space
 * accesses, DMA patterns for every read the device makes, clock steps.
 *
 * The seed corpus is kept in the repository (SEED_CORPUS); what a run finds
 * goes to out/fuzz/<target>/corpus, and a crash to out/fuzz/<target>/.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { outDir, repoRoot } from './paths.js';

export const FUZZ_TARGETS = ['ossa', 'ossa-msi'] as const;
export type FuzzTarget = (typeof FUZZ_TARGETS)[number];

/** The corpus in the repository: the starting inputs of every run. */
export const SEED_CORPUS = join(repoRoot, 'qemu-device/tests/fuzz-corpus');

export interface FuzzResult {
  target: FuzzTarget;
  seconds: number;
  /** Inputs run (libFuzzer's stat::number_of_executed_units). */
  execs: number;
  /** Coverage counters hit (libFuzzer's "cov"), and features ("ft"). */
  edges: number;
  features: number;
  /** Inputs in the working corpus at the end. */
  corpus: number;
  /** Files of crashing, leaking or timing-out inputs libFuzzer wrote. */
  crashes: string[];
  exitCode: number;
  /** The end of libFuzzer's output, for a report. */
  tail: string;
}

export function fuzzDir(target: FuzzTarget): string {
  return join(outDir, 'fuzz', target);
}

/** What a libFuzzer status line says. */
export interface FuzzStatus {
  /** Executions so far (with -fork: summed over the jobs). */
  runs: number;
  edges: number;
  features: number;
  corpus: number;
}

/**
 * The figures of one libFuzzer status line, or undefined for any other
 * line: `#N  NEW  cov: …` from one process; with -fork, only the parent's
 * `#N: cov: …` (N summed over its jobs), not the lines of a job's log that
 * it copies out after a crash.
 */
export function statusOf(line: string, fork: boolean): FuzzStatus | undefined {
  const m = (fork ? /^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+)/ : /^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)/).exec(line);
  return m ? { runs: Number(m[1]), edges: Number(m[2]), features: Number(m[3]), corpus: Number(m[4]) } : undefined;
}

/** Files of crashing, leaking or timing-out inputs libFuzzer wrote in `dir`. */
export async function crashFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => /^(crash|leak|timeout|oom)-/.test(f)).map((f) => join(dir, f));
}

export interface FuzzOptions {
  /** Processes fuzzing at once (libFuzzer -fork); default 1, in this process. */
  jobs?: number;
  /** Stop after this many executions (libFuzzer -runs), or at `seconds`, whichever comes first. */
  runs?: number;
  /** Called with every status line as libFuzzer prints it (a long run is watched, or recorded, while it goes). */
  onStatus?: (status: FuzzStatus) => void;
}

/** Lines of libFuzzer's output kept for a report. */
const TAIL_LINES = 60;

/** Runs one target for `seconds`, from the seed corpus and the target's working corpus. */
export async function runFuzz(binary: string, target: FuzzTarget, seconds: number, opts: FuzzOptions = {}): Promise<FuzzResult> {
  const dir = fuzzDir(target);
  const work = join(dir, 'corpus');
  const start = performance.now();
  const fork = (opts.jobs ?? 1) > 1;
  await mkdir(work, { recursive: true });
  const before = new Set(await crashFiles(dir));
  // The output is read as it comes, not buffered: a run of hours prints
  // megabytes, and a run that is killed has reported its status lines.
  const child = execa(
    binary,
    [
      `--fuzz-target=generic-fuzz-${target}`,
      `-max_total_time=${seconds}`,
      ...(fork ? [`-fork=${opts.jobs}`] : []),
      ...(opts.runs ? [`-runs=${opts.runs}`] : []),
      '-print_final_stats=1',
      // a slow input is a finding too (the device must not stall the machine)
      '-timeout=10',
      '-rss_limit_mb=4096',
      `-artifact_prefix=${dir}/`,
      work,
      SEED_CORPUS,
    ],
    {
      reject: false,
      all: true,
      buffer: false,
      env: {
        ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0',
        UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
      },
    },
  );
  const tail: string[] = [];
  let status: FuzzStatus = { runs: 0, edges: 0, features: 0, corpus: 0 };
  let executed: number | undefined;
  try {
    for await (const line of createInterface({ input: child.all, crlfDelay: Infinity })) {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      const s = statusOf(line, fork);
      if (s) {
        status = s;
        opts.onStatus?.(s);
      }
      const units = /stat::number_of_executed_units:\s*(\d+)/.exec(line);
      if (units) executed = Number(units[1]);
    }
  } catch (err) {
    // Nobody reads its output any more: a fuzzer left running would block.
    child.kill();
    throw err;
  }
  const r = await child;
  // One process prints its total at exit; a fork parent only its status lines.
  const execs = fork ? status.runs : (executed ?? status.runs);
  const crashes = (await crashFiles(dir)).filter((f) => !before.has(f));
  return {
    target,
    seconds: Math.max(1, Math.round((performance.now() - start) / 1000)),
    execs,
    edges: status.edges,
    features: status.features,
    corpus: status.corpus,
    crashes,
    exitCode: r.exitCode ?? -1,
    // A binary that could not start printed nothing: execa's message says why.
    tail: tail.length || !(r instanceof Error) ? tail.join('\n') : r.message,
  };
}

/** Merges the target's working corpus into the seed corpus (libFuzzer -merge=1: only inputs that add coverage). */
export async function mergeIntoSeeds(binary: string, target: FuzzTarget): Promise<void> {
  await mkdir(SEED_CORPUS, { recursive: true });
  await execa(binary, [`--fuzz-target=generic-fuzz-${target}`, '-merge=1', SEED_CORPUS, join(fuzzDir(target), 'corpus')], {
    env: { ASAN_OPTIONS: 'detect_leaks=0' },
  });
}

export function formatFuzz(r: FuzzResult): string {
  const rate = r.seconds ? Math.round(r.execs / r.seconds) : 0;
  return (
    `fuzz: generic-fuzz-${r.target}: ${r.execs} execs in ${r.seconds} s (${rate}/s), ` +
    `${r.edges} edges, ${r.features} features, corpus ${r.corpus}, ` +
    `${r.crashes.length ? `CRASHES ${r.crashes.length}: ${r.crashes.join(', ')}` : 'no crash'}`
  );
}
