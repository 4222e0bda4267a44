/**
 * `npm run patches`' series, as maintainers would take them.
 *
 * Linux: written against the pristine newest kernel tree, applied there
 * with `git am`, configured with CONFIG_DRM_ACCEL_OSSA=m from that
 * kernel's own configuration, built as a module in the tree with W=1 and
 * sparse (and the core files its fixes change, likewise), and each patch
 * passed through the tree's `checkpatch.pl --strict`; its documentation
 * built with Sphinx as the tree builds it (ci/lib/sphinx-docs.ts).
 *
 * QEMU: written against the pristine newest QEMU tree, applied there with
 * `git am`, each patch passed through the tree's `checkpatch.pl`, the
 * tree's docs/ built with Sphinx; the newest QEMU of the build is this
 * series built (ci/build.ts), and the series' own qtest runs on it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { applySeries, pristineCheckout, readUndatedPatch } from '../lib/git-tree.js';
import { linuxFixes } from '../lib/linux-fixes.js';
import { buildInTree, checkpatchLinux, kernelCompiler, linuxCheckoutDir } from '../lib/linux-intree.js';
import { readManifest } from '../lib/manifest.js';
import { numberedPatches, SUBMITTER, writeLinuxSeries, writeQemuSeries } from '../lib/patches.js';
import { REGS_LICENCE_NOTE } from '../lib/qemu-series.js';
import { selectNewestQemu } from '../lib/qemu-source.js';
import { cachedQemuDocs, linuxAccelDocs, ossaWarnings } from '../lib/sphinx-docs.js';
import { newestQemuTree } from '../lib/qemu-tree.js';
import { OSSA_CONSTANTS, OSSA_STRUCTS } from '../../userspace/src/uapi.js';

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
  // Written aside, not over out/patches/linux/, which a submitter may be editing.
  const dest = await mkdtemp(join(tmpdir(), 'ossa-linux-series-'));
  afterAll(() => rm(dest, { recursive: true, force: true }));
  const patches = await writeLinuxSeries(tree.dir, tree.version, dest);
  const numbered = patches.filter((p) => !basename(p).startsWith('0000-'));

  test('a cover letter, the core fix, and the uapi header, driver and documentation patches, each signed off by its author', async () => {
    expect(numbered.map((p) => basename(p).replace(/^\d+-/, ''))).toEqual([
      'drm-Refuse-GET_UNIQUE-and-GET_MAGIC-to-files-without.patch',
      'accel-ossa-Add-the-uapi-header.patch',
      'accel-ossa-Add-a-driver-for-the-ossa-sample-accelera.patch',
      'Documentation-accel-Add-the-ossa-driver.patch',
    ]);
    const cover = await readFile(patches[0] as string, 'utf8');
    expect(cover).toMatch(/^Subject: \[PATCH 0\/4\] accel\/ossa: Add a driver/m);
    expect(cover).not.toContain('***');
    for (const p of numbered) {
      const text = await readFile(p, 'utf8');
      expect(text).toContain(`From: ${SUBMITTER.name} <${SUBMITTER.email}>`);
      expect(text).toContain(`Signed-off-by: ${SUBMITTER.name} <${SUBMITTER.email}>`);
    }
  });

  // Applied here, so that every test below sees the series, whichever of them run.
  const work = await pristineCheckout(tree.dir, linuxCheckoutDir(tree.key));
  const applied = await applySeries(work, patches).then(
    () => undefined,
    (err: unknown) => err as Error,
  );

  test('applies to the pristine tree with git am', () => {
    expect(applied?.message).toBeUndefined();
  });

  test.skipIf(applied)('builds in the tree as a module, and the core files the fix changes, with W=1 and sparse, without a warning', async () => {
    const config = await readFile(join(newest.sidRoot, `usr/src/linux-headers-${newest.kernelRelease}/.config`), 'utf8');
    const core = (await linuxFixes()).flatMap((f) => f.paths).filter((p) => p.endsWith('.c'));
    expect(core.length).toBeGreaterThan(0);
    const build = await buildInTree(newest.sidRoot, work, newest.kernelRelease, kernelCompiler(config), core.map((p) => p.replace(/\.c$/, '.o')));
    expect(build.log).toMatch(/CHECK +drivers\/accel\/ossa\/ossa_drv\.c/);
    for (const p of core) expect(build.log).toMatch(new RegExp(`CHECK +${p.replace(/[./]/g, '\\$&')}`));
    // Linked, its symbols checked by modpost against the kernel's Module.symvers
    // (in a tree that never built a module, the module's common object and
    // its .mod.o are compiled between the two).
    expect(build.log).toMatch(/MODPOST Module\.symvers\n(?:\s+CC \[M\] +\S+\.o\n)*\s+LD \[M\] +ossa\.ko/);
    expect(build.warnings).toEqual([]);
  }, 1_200_000);

  test.skipIf(applied)("passes the tree's checkpatch.pl --strict, licence identifiers checked by its spdxcheck.py", async () => {
    const reports = await checkpatchLinux(newest.sidRoot, work, patches);
    expect([...reports.keys()]).toEqual(numbered.map((p) => basename(p)));
    for (const [name, report] of reports) {
      expect(`${name}: ${summary(report)}`, report).toMatch(/: total: 0 errors, 0 warnings, 0 checks, \d+ lines checked$/);
      expect(report, `${name}: spdxcheck.py did not run`).not.toMatch(/Traceback|FAIL:/);
    }
  }, 300_000);

  test.skipIf(applied)('its documentation builds with Sphinx (make SPHINXDIRS=accel htmldocs) without a warning about its files, every uapi struct and constant rendered by kernel-doc', async () => {
    const docs = await linuxAccelDocs(work);
    expect(ossaWarnings(docs.warnings), docs.warnings.join('\n')).toEqual([]);
    const names = [...OSSA_STRUCTS.map((st) => st.name), ...Object.keys(OSSA_CONSTANTS).filter((c) => c.startsWith('DRM_OSSA_'))];
    expect(names.filter((n) => !docs.html.includes(n)), 'not on the page').toEqual([]);
  }, 600_000);

  test('that checkpatch would say so: the uapi patch without its Signed-off-by, and with a licence expression spdxcheck cannot parse', async () => {
    const first = numbered.find((p) => basename(p).endsWith('-accel-ossa-Add-the-uapi-header.patch')) as string;
    const dir = await mkdtemp(join(tmpdir(), 'ossa-bad-patch-'));
    const text = await readFile(first, 'utf8');
    const unsigned = join(dir, `1-${basename(first)}`);
    const unparsed = join(dir, `2-${basename(first)}`);
    await writeFile(unsigned, text.replace(/^Signed-off-by: .*\n/m, ''));
    const spdx = '(GPL-2.0-only WITH Linux-syscall-note) OR MIT';
    expect(text).toContain(spdx);
    await writeFile(unparsed, text.replace(spdx, 'GPL-2.0-only WITH Linux-syscall-note OR MIT'));
    try {
      const reports = await checkpatchLinux(newest.sidRoot, work, [unsigned, unparsed]);
      expect(reports.get(basename(unsigned))).toMatch(/ERROR:MISSING_SIGN_OFF/);
      expect(reports.get(basename(unparsed))).toMatch(/WARNING:SPDX_LICENSE_TAG/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

const qemu = m.qemuNewest;
const qemuMissing = !qemu ? 'this build has no newest QEMU (tsx ci/build.ts --newest-qemu; npm test builds it)' : undefined;

describe.skipIf(qemuMissing)(`the QEMU patch series${qemuMissing ? ` (skipped: ${qemuMissing})` : ''}`, async () => {
  if (!qemu) return;
  const tree = await newestQemuTree(await selectNewestQemu());
  const dest = await mkdtemp(join(tmpdir(), 'ossa-qemu-series-'));
  const work = join(dest, 'qemu');
  afterAll(() => rm(dest, { recursive: true, force: true }));
  const patches = await writeQemuSeries(tree.dir, tree.version, join(dest, 'series'));
  const numbered = numberedPatches(patches);

  test('a cover letter and the device, datasheet and qtest patches, each signed off by its author', async () => {
    expect(numbered.map((p) => basename(p).replace(/^\d+-/, ''))).toEqual([
      'hw-misc-Add-ossa-a-sample-compute-accelerator.patch',
      'docs-specs-Add-the-ossa-datasheet.patch',
      'tests-qtest-Add-a-test-and-generic-fuzz-targets-for-.patch',
    ]);
    const cover = await readFile(patches[0] as string, 'utf8');
    expect(cover).toMatch(/^Subject: \[PATCH 0\/3\] Add ossa, a sample compute accelerator$/m);
    for (const p of numbered) expect(await readFile(p, 'utf8')).toContain(`Signed-off-by: ${SUBMITTER.name} <${SUBMITTER.email}>`);
  });

  test('the newest QEMU of this build was built from this very series', async () => {
    // Byte for byte but the Date: header, which is the repository's last
    // commit's: a commit that changes nothing of the series keeps the build.
    const built = numberedPatches((await readdir(qemu.series)).sort().map((f) => join(qemu.series, f)));
    expect(built.map((p) => basename(p))).toEqual(numbered.map((p) => basename(p)));
    for (const [i, p] of numbered.entries()) expect(await readUndatedPatch(built[i] as string), basename(p)).toBe(await readUndatedPatch(p));
  });

  // Applied here, so that every test below sees the series, whichever of them run.
  const applied = await pristineCheckout(tree.dir, work)
    .then(() => applySeries(work, patches))
    .then(
      () => undefined,
      (err: unknown) => err as Error,
    );

  test('applies to the pristine tree with git am', () => {
    expect(applied?.message).toBeUndefined();
    expect(existsSync(join(work, 'hw/misc/ossa/ossa.c'))).toBe(true);
  });

  test.skipIf(applied)('its documentation builds with Sphinx as QEMU builds it (the whole docs/, warnings as errors), the datasheet among it', async () => {
    const docs = await cachedQemuDocs(work, tree.cache.key, patches);
    expect(docs.warnings).toEqual([]);
    expect(docs.html).toMatch(/<title>ossa hardware interface \(datasheet\)/);
  }, 900_000);

  test.skipIf(applied)("passes the tree's scripts/checkpatch.pl: no error, and no warning but the register header's licence, which the patch explains", async () => {
    for (const [i, p] of numbered.entries()) {
      const r = await execa('perl', ['scripts/checkpatch.pl', p], { cwd: work, reject: false, all: true });
      const out = String(r.all);
      expect(r.exitCode, out).toBe(0);
      // QEMU's checkpatch warns about every licence but GPL-2.0-or-later
      // and asks the commit message to explain the choice.
      const licence = /^WARNING: Saw acceptable license 'GPL-2\.0-only OR MIT ?' but note 'GPL-2\.0-or-later' is preferred/m;
      const warnings = i === 0 ? 1 : 0;
      if (warnings) {
        expect(out).toMatch(licence);
        expect(await readFile(p, 'utf8')).toContain(REGS_LICENCE_NOTE.split('\n')[0]);
      }
      expect(`${basename(p)}: ${/^total: .*$/m.exec(out)?.[0] ?? '(no summary)'}`, out).toMatch(new RegExp(`: total: 0 errors, ${warnings} warnings, \\d+ lines checked$`));
    }
  }, 120_000);

  test("its qtest (tests/qtest/ossa-test, built with the newest QEMU) passes", async () => {
    const r = await execa(qemu.qtest, ['--tap'], { env: { QTEST_QEMU_BINARY: qemu.binary }, reject: false, all: true });
    const out = String(r.all);
    expect(r.exitCode, out).toBe(0);
    for (const name of ['identity', 'soft-reset', 'fill-job', 'fault']) expect(out).toMatch(new RegExp(`^ok \\d+ /x86_64/ossa/${name}$`, 'm'));
  }, 120_000);
});
