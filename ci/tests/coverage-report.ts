/**
 * vitest global setup of `npm test`: empties the gcov data of earlier runs
 * before the tests, and after them writes the line coverage of the driver
 * (debug guest) and the device (qtest suite and virtio-iommu guest, on the gcov
 * build of QEMU) to out/coverage/ and prints the per-file table; a run of
 * the whole suite is then judged against ci/coverage-exceptions.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { COVERAGE_EXCEPTIONS, COVERAGE_GOALS } from '../coverage-exceptions.js';
import { judgeCoverage } from '../lib/coverage-gate.js';
import {
  coverageDir,
  deviceCoverage,
  driverCoverage,
  formatCoverage,
  htmlReport,
  type PartCoverage,
  qemuGcnoDir,
  resetCoverageData,
} from '../lib/line-coverage.js';
import { readManifest } from '../lib/manifest.js';
import { manifestPath, repoRoot } from '../lib/paths.js';

let project: TestProject | undefined;

export async function setup(p: TestProject): Promise<void> {
  project = p;
  await resetCoverageData();
}

/** Why this run cannot be judged against the goals, or undefined when it ran everything. */
async function partialRun(): Promise<string | undefined> {
  if (process.env.OSSA_GUEST_FILTER) return `OSSA_GUEST_FILTER=${process.env.OSSA_GUEST_FILTER}`;
  if (!project) return 'no vitest project';
  const config = project.vitest.config;
  if (config.testNamePattern) return 'a test name filter';
  if (config.cliExclude?.length) return `--exclude ${config.cliExclude.join(' ')}`;
  if (config.tagsFilter?.length) return 'a tags filter';
  const all = (await project.globTestFiles()).testFiles.length;
  const ran = project.vitest.state.getFiles().length;
  return ran < all ? `${ran} of ${all} test files ran` : undefined;
}

/** The goals and the explained lines, for a run of the whole suite. */
async function judge(parts: PartCoverage[]): Promise<void> {
  const partial = await partialRun();
  if (partial) {
    process.stdout.write(`\nCoverage goals and exceptions: not judged (${partial})\n`);
    return;
  }
  const sources = new Map<string, string[]>();
  const source = (file: string): string[] => {
    let text = sources.get(file);
    if (!text) {
      text = readFileSync(join(repoRoot, file), 'utf8').split('\n');
      sources.set(file, text);
    }
    return text;
  };
  const { problems, explained } = judgeCoverage(parts, source, COVERAGE_EXCEPTIONS, COVERAGE_GOALS);
  const goals = Object.entries(COVERAGE_GOALS).map(([part, pct]) => `${part} ${pct} %`).join(', ');
  if (explained.length) process.stdout.write(`\nLines never run, and why (ci/coverage-exceptions.ts):\n${explained.join('\n')}\n`);
  if (!problems.length) {
    process.stdout.write(`\nCoverage goals (${goals}) met; every line never run is explained.\n`);
    return;
  }
  process.stderr.write(`\nossa: error: line coverage (goals: ${goals}):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exitCode = 1;
}

async function report(): Promise<void> {
  if (!existsSync(manifestPath)) return;
  const m = await readManifest();
  const parts: PartCoverage[] = [];
  const driver = m.debug ? await driverCoverage(m.debug.driverBuild) : undefined;
  if (driver) parts.push(driver);
  const device = m.qemuAsan ? await deviceCoverage(qemuGcnoDir(m.qemuAsan)) : undefined;
  if (device) parts.push(device);
  if (!parts.length) {
    process.stdout.write('\nLine coverage: no gcov data (no test ran QEMU\'s gcov build or the debug guest)\n');
    return;
  }
  const index = await htmlReport(parts);
  await writeFile(join(coverageDir, 'summary.json'), `${JSON.stringify(parts, null, 2)}\n`);
  process.stdout.write(
    `\nLine coverage (driver: debug guest; device: qtest suite and virtio-iommu guest); lcov data and ${index}:\n\n${formatCoverage(parts)}\n`,
  );
  await judge(parts);
}

export async function teardown(): Promise<void> {
  // vitest only logs an error thrown here; make it fail the run.
  try {
    await report();
  } catch (err) {
    process.stderr.write(`ossa: error: line coverage report failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
