/**
 * vitest global setup of `npm test`: empties the gcov data of earlier runs
 * before the tests, and after them writes the line coverage of the driver
 * (debug guest) and the device (qtest suite and debug guest, on the gcov
 * build of QEMU) to out/coverage/ and prints the per-file table.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { manifestPath } from '../lib/paths.js';

export async function setup(): Promise<void> {
  await resetCoverageData();
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
    `\nLine coverage (driver: debug guest; device: qtest suite and debug guest); lcov data and ${index}:\n\n${formatCoverage(parts)}\n`,
  );
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
