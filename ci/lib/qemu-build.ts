/**
 * QEMU with the ossa device, built by qemu-device/build-qemu.sh: 10.0.2
 * from its tarball (and its ASan and fuzz variants), or any QEMU source
 * tree with the device's upstream series applied to a checkout of its
 * record (source-snapshot.ts). The
 * newest QEMU the archive serves is built from its pristine tree that way,
 * and so is a lab's own tree (OSSA_QEMU_TREE): one path for both.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { acquireLock } from './cache-lock.js';
import { type BuildKind, cached, type CachedOutput } from './cache.js';
import { applySeries, pristineCheckout } from './git-tree.js';
import type { TreeQemuBuild } from './manifest.js';
import { cacheDir, repoRoot } from './paths.js';
import { writeQemuSeries } from './patches.js';
import { BuildError, log } from './progress.js';
import { QEMU_SERIES_INPUTS } from './qemu-series.js';
import { snapshotTree } from './source-snapshot.js';

/** The script that builds every QEMU: the recipe of each QEMU entry. */
export const QEMU_SCRIPT = 'qemu-device/build-qemu.sh';

/** The device's sources and build script; not its tests. */
export const QEMU_INPUTS: readonly string[] = readdirSync(join(repoRoot, 'qemu-device'))
  .filter((f) => f !== 'tests')
  .sort()
  .map((f) => `qemu-device/${f}`);

/** The versions of the tools a QEMU build runs: gcc, clang (the fuzz build), meson and ninja. */
export async function qemuToolchain(): Promise<string> {
  const version = async (cmd: string, arg = '--version'): Promise<string> => {
    const r = await execa(cmd, [arg], { reject: false });
    return r.exitCode === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : `${cmd}: none`;
  };
  return (await Promise.all([version('gcc'), version('clang'), version('meson'), version('ninja')])).join('; ');
}

/**
 * Runs build-qemu.sh into `out`, its work area `work` (its build trees
 * persist there, so that a device change recompiles only the device).
 * Without `tree`, the script's own source (10.0.2); with it, that tree,
 * which holds the device already.
 */
export async function runBuildQemu(work: string, out: string, variant?: 'asan' | 'fuzz', tree?: { dir: string; version: string }): Promise<BuildKind> {
  const args = [join(repoRoot, QEMU_SCRIPT), work, out, ...(variant ? [variant] : [])];
  // Set or emptied: a QEMU_VERSION in the caller's environment must not
  // change what goes under the stable build's cache key.
  const env = { QEMU_VERSION: tree?.version ?? '', QEMU_TARBALL_SHA256: '', QEMU_TARBALL_URL: '', QEMU_SOURCE_TREE: tree?.dir ?? '' };
  await execa('bash', args, { stdout: 'inherit', stderr: 'inherit', env }).catch((err: unknown) => {
    throw new BuildError(`QEMU${tree ? ` ${tree.version}` : ''}${variant ? ` (${variant})` : ''} build failed: ${(err as Error).message.split('\n')[0]}`);
  });
  return { incremental: (await readFile(join(out, 'build-kind'), 'utf8')).trim() === 'incremental' };
}

/** QEMU 10.0.2, plain or with ASan or libFuzzer; the three share one source tree in qemu-work. */
export function stableQemu(toolchain: string, variant?: 'asan' | 'fuzz'): Promise<CachedOutput> {
  // The recipe is the script: this passes it only the variant, which names the entry.
  const inputs = { files: QEMU_INPUTS, recipe: [QEMU_SCRIPT], values: { toolchain } };
  return cached(variant ? `qemu-${variant}` : 'qemu', inputs, (dir) => runBuildQemu(join(cacheDir(), 'qemu-work'), dir, variant), { lock: 'qemu-work' });
}

/** A QEMU built from a source tree, as the manifest gives it, and its cache entry. */
export interface TreeQemu {
  cache: CachedOutput;
  build: TreeQemuBuild;
}

/** A QEMU source tree, checked: its absolute path and QEMU's version. */
export interface QemuTreeDir {
  dir: string;
  version: string;
}

/**
 * Checks that `dir` (relative to `base`) is a QEMU source tree, before
 * anything is built: what it lacks, or a VERSION that is no version, is
 * an error naming `what` (e.g. OSSA_QEMU_TREE).
 */
export async function checkQemuTree(dir: string, what: string, base = process.cwd()): Promise<QemuTreeDir> {
  const abs = resolve(base, dir);
  const missing = ['VERSION', 'meson.build', 'hw/misc/meson.build', 'hw/misc/Kconfig'].filter((f) => !existsSync(join(abs, f)));
  if (missing.length) throw new BuildError(`${what} ${abs}: not a QEMU source tree (no ${missing.join(', ')})`);
  const version = (await readFile(join(abs, 'VERSION'), 'utf8')).trim();
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new BuildError(`${what} ${abs}: VERSION reads "${version}", not a QEMU version`);
  return { dir: abs, version };
}

/**
 * QEMU from a checked source tree, never written to: the tree is recorded
 * in a repository of ossa's own (source-snapshot.ts), whose commit is the
 * key; the device's series (npm run patches) is made against that commit
 * and applied with git am to a checkout of it, which keeps its build
 * products from run to run, so that a change to the tree rebuilds what it
 * changed. A tree that holds the device already (hw/misc/ossa/, and the
 * series' qtest) gets no series. One lock per tree covers the recording
 * and the build, so that a build is of the commit that names it. `name` is
 * the cache entry's (qemu-newest, qemu-own); `what` names the tree in
 * messages.
 */
export async function qemuFromTree(tree: QemuTreeDir, name: string, what: string, toolchain: string): Promise<TreeQemu> {
  const { dir: source, version } = tree;
  // One work area per tree, wherever it is: the same tree builds incrementally.
  const where = createHash('sha256').update(await realpath(source)).digest('hex').slice(0, 12);
  const work = join(cacheDir(), `qemu-work-tree-${where}`);
  const lock = basename(work);
  await mkdir(work, { recursive: true });
  const release = await acquireLock(join(cacheDir(), `${lock}.lock`), `${what} (${source})`);
  try {
    const base = join(work, 'base');
    const snapshot = await snapshotTree(source, base);
    const holdsDevice = snapshot.files.includes('hw/misc/ossa/ossa.c');
    if (holdsDevice && !snapshot.files.includes('tests/qtest/ossa-test.c')) {
      throw new BuildError(`${what} ${source}: holds hw/misc/ossa/ but not tests/qtest/ossa-test.c: apply the whole series (npm run patches), or none of it`);
    }
    log(`qemu (${what}): ${source}, QEMU ${version}${holdsDevice ? ', the device already in it' : ''}`);
    const cache = await cached(
      name,
      {
        files: [...QEMU_INPUTS, ...QEMU_SERIES_INPUTS],
        recipe: [QEMU_SCRIPT, 'ci/lib/qemu-build.ts', 'ci/lib/source-snapshot.ts', 'ci/lib/patches.ts', 'ci/lib/git-tree.ts'],
        values: { version, snapshot: snapshot.commit, toolchain },
      },
      async (dir) => {
        const checkout = await pristineCheckout(base, join(work, 'qemu'));
        const seriesDir = join(dir, 'series');
        await mkdir(seriesDir);
        if (!holdsDevice) {
          const series = await writeQemuSeries(base, version, seriesDir);
          await applySeries(checkout, series).catch((err: unknown) => {
            throw new BuildError(`${what} ${source}: the device's series does not apply to it (QEMU ${version}): ${(err as Error).message}`);
          });
        }
        return runBuildQemu(work, dir, undefined, { dir: checkout, version });
      },
      { lock, held: true },
    );
    return {
      cache,
      build: {
        version,
        binary: join(cache.dir, 'bin/qemu-system-x86_64'),
        source,
        tree: (await readFile(join(cache.dir, 'source-tree'), 'utf8')).trim(),
        series: join(cache.dir, 'series'),
        qtest: join(cache.dir, 'bin/ossa-test'),
      },
    };
  } finally {
    await release();
  }
}
