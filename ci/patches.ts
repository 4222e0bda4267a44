/**
 * `npm run patches`: writes the upstream patch series, each with its cover
 * letter, made against the pristine trees of the newest kernel and QEMU
 * the archive serves: out/patches/linux/ (uapi header, driver,
 * documentation, MAINTAINERS) and out/patches/qemu/ (device, datasheet,
 * qtest and fuzz targets, MAINTAINERS). ci/tests/patches.test.ts applies
 * them to those trees, builds them and runs each tree's checkpatch.
 */
import { relative } from 'node:path';
import { readManifest } from './lib/manifest.js';
import { writeLinuxSeries, writeQemuSeries } from './lib/patches.js';
import { repoRoot } from './lib/paths.js';
import { log } from './lib/progress.js';
import { selectNewestQemu } from './lib/qemu-source.js';
import { newestQemuTree } from './lib/qemu-tree.js';

const m = await readManifest();
const tree = m.newest?.linuxTree;
if (!tree) {
  process.stderr.write('patches: the build has no pristine newest kernel tree: run `tsx ci/build.ts --linux-tree` (npm run patches does)\n');
  process.exit(2);
}
const linux = await writeLinuxSeries(tree.dir, tree.version);
log(`patches: Linux (linux-source ${tree.version}): ${linux.length - 1} patches and a cover letter`);
for (const f of linux) log(`  ${relative(repoRoot, f)}`);

const qemuTree = await newestQemuTree(await selectNewestQemu());
const qemu = await writeQemuSeries(qemuTree.dir, qemuTree.version);
log(`patches: QEMU ${qemuTree.version}: ${qemu.length - 1} patches and a cover letter`);
for (const f of qemu) log(`  ${relative(repoRoot, f)}`);
