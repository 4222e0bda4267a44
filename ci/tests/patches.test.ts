/**
 * `npm run patches`' Linux series, as a maintainer would take it: written
 * against the pristine newest kernel tree, applied there with `git am`,
 * configured with CONFIG_DRM_ACCEL_OSSA=m from that kernel's own
 * configuration, built as a module in the tree with W=1 and sparse, and
 * each patch passed through the tree's `checkpatch.pl --strict`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { applySeries, buildInTree, checkpatchLinux, kernelCompiler, pristineCheckout } from '../lib/linux-intree.js';
import { readManifest } from '../lib/manifest.js';
import { SUBMITTER, writeLinuxSeries } from '../lib/patches.js';

const m = await readManifest();
const newest = m.newest;
const tree = newest?.linuxTree;
const missing = !newest || !tree ? 'this build has no pristine newest kernel tree (tsx ci/build.ts --linux-tree; npm test builds it)' : undefined;

/** checkpatch's summary line of a report, e.g. 'total: 0 errors, 0 warnings, 0 checks, 297 lines checked'. */
function summary(report: string): string {
  return /^total: .*$/m.exec(report)?.[0] ?? '(no summary)';
}

describe.skipIf(missing)(`the Linux patch series${missing ? ` (skipped: ${missing})` : ''}`, async () => {
  if (!newest || !tree) return;
  const patches = await writeLinuxSeries(tree.dir, tree.version);
  const numbered = patches.filter((p) => !basename(p).startsWith('0000-'));

  test('a cover letter and the uapi header, driver and documentation patches, each signed off by its author', async () => {
    expect(numbered.map((p) => basename(p).replace(/^\d+-/, ''))).toEqual([
      'accel-ossa-Add-the-uapi-header.patch',
      'accel-ossa-Add-a-driver-for-the-ossa-sample-accelera.patch',
      'Documentation-accel-Add-the-ossa-driver.patch',
    ]);
    const cover = await readFile(patches[0] as string, 'utf8');
    expect(cover).toMatch(/^Subject: \[PATCH 0\/3\] accel\/ossa: Add a driver/m);
    expect(cover).not.toContain('***');
    for (const p of numbered) {
      const text = await readFile(p, 'utf8');
      expect(text).toContain(`From: ${SUBMITTER.name} <${SUBMITTER.email}>`);
      expect(text).toContain(`Signed-off-by: ${SUBMITTER.name} <${SUBMITTER.email}>`);
    }
  });

  const work = await pristineCheckout(tree.dir, tree.key);

  test('applies to the pristine tree with git am', async () => {
    await applySeries(work, patches);
  }, 120_000);

  test('builds in the tree as a module, with W=1 and sparse, without a warning', async () => {
    const config = await readFile(join(newest.sidRoot, `usr/src/linux-headers-${newest.kernelRelease}/.config`), 'utf8');
    const build = await buildInTree(newest.sidRoot, work, newest.kernelRelease, kernelCompiler(config));
    expect(build.log).toMatch(/CHECK +drivers\/accel\/ossa\/ossa_drv\.c/);
    // Linked, its symbols checked by modpost against the kernel's Module.symvers.
    expect(build.log).toMatch(/MODPOST Module\.symvers\n\s+LD \[M\] +ossa\.ko/);
    expect(build.warnings).toEqual([]);
  }, 1_200_000);

  test("passes the tree's checkpatch.pl --strict, licence identifiers checked by its spdxcheck.py", async () => {
    const reports = await checkpatchLinux(newest.sidRoot, work, patches);
    expect([...reports.keys()]).toEqual(numbered.map((p) => basename(p)));
    for (const [name, report] of reports) {
      expect(`${name}: ${summary(report)}`, report).toMatch(/: total: 0 errors, 0 warnings, 0 checks, \d+ lines checked$/);
      expect(report, `${name}: spdxcheck.py did not run`).not.toMatch(/Traceback|FAIL:/);
    }
  }, 300_000);

  test('that checkpatch would say so: the uapi patch without its Signed-off-by', async () => {
    const first = numbered[0] as string;
    const dir = await mkdtemp(join(tmpdir(), 'ossa-unsigned-'));
    const bad = join(dir, basename(first));
    await writeFile(bad, (await readFile(first, 'utf8')).replace(/^Signed-off-by: .*\n/m, ''));
    try {
      const reports = await checkpatchLinux(newest.sidRoot, work, [bad]);
      expect(reports.get(basename(bad))).toMatch(/ERROR:MISSING_SIGN_OFF/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
