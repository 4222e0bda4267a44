/**
 * A guest kernel from a Linux source tree: a lab's own (OSSA_KERNEL_TREE,
 * npm start -- --kernel DIR), or the newest kernel's pristine tree, which
 * npm test builds this way so that the path a lab takes is the one tested.
 * The tree is never written to: it is recorded in a repository of ossa's
 * own (source-snapshot.ts), whose commit names the build, and built in a
 * checkout of that record, which keeps its build products from run to
 * run, so that a change to the tree rebuilds what it changed.
 *
 * The config is OSSA_KERNEL_CONFIG if given, else the tree's own .config
 * if it has one, else tinyconfig; kvm_guest.config and images/guest.config
 * (what any ossa guest needs) are merged on top of it. The driver's
 * Kconfig is hooked into the checkout unless the tree holds the driver
 * (the Linux series of npm run patches applied), in which case the
 * kernel's build makes ossa.ko and the driver is not built out of tree.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cached, type CachedOutput } from './cache.js';
import { pristineCheckout } from './git-tree.js';
import {
  compileKernel, compilerVersion, configureKernel, DRIVER_KCONFIG, GUEST_CONFIG, hookDriverKconfig,
  KERNEL_SOURCE_RECIPE, type KernelBuild, readKernelBuild,
} from './kernel-source-build.js';
import { BuildError, log } from './progress.js';
import { isGitTop, withRecordedTree } from './recorded-tree.js';

/** A Linux source tree, checked: its absolute path and the kernel version its Makefile gives. */
export interface LinuxTreeDir {
  dir: string;
  version: string;
  /** Whether git tracks it: then ignored files (a build made in place, its .config) are not part of it. */
  git: boolean;
}

/** What a tree must hold to be built as a guest: x86, the config tools used here, and what installs the headers the driver builds against (Linux 6.6 on). */
const REQUIRED = ['Makefile', 'Kconfig', 'arch/x86/Kconfig', 'scripts/kconfig/merge_config.sh', 'kernel/configs/kvm_guest.config', 'scripts/package/install-extmod-build'];

/** The version the top Makefile gives (VERSION.PATCHLEVEL.SUBLEVEL and EXTRAVERSION), or undefined. */
export function makefileVersion(makefile: string): string | undefined {
  const get = (name: string): string | undefined => new RegExp(`^${name}\\s*=[ \\t]*(\\S*)`, 'm').exec(makefile)?.[1];
  const [v, p, s] = [get('VERSION'), get('PATCHLEVEL'), get('SUBLEVEL')];
  if (!v || !p || !/^\d+$/.test(v) || !/^\d+$/.test(p)) return undefined;
  return `${v}.${p}${s ? `.${s}` : ''}${get('EXTRAVERSION') ?? ''}`;
}

/**
 * Checks that `dir` (relative to `base`) is a Linux source tree ossa can
 * build a guest of, before anything is built; `what` (e.g.
 * OSSA_KERNEL_TREE) names it in the error. A tree not tracked by git that
 * was built in place is refused: its build products would be recorded as
 * source (in a git tree they are ignored files, and left out).
 */
export async function checkLinuxTree(dir: string, what: string, base = process.cwd()): Promise<LinuxTreeDir> {
  const abs = resolve(base, dir);
  const missing = REQUIRED.filter((f) => !existsSync(join(abs, f)));
  if (missing.length) throw new BuildError(`${what} ${abs}: not a Linux source tree ossa can build (no ${missing.join(', ')}; ossa builds Linux 6.6 or later)`);
  const version = makefileVersion(await readFile(join(abs, 'Makefile'), 'utf8'));
  if (!version) throw new BuildError(`${what} ${abs}: its Makefile gives no VERSION and PATCHLEVEL`);
  if (!existsSync(join(abs, 'drivers/accel/Kconfig'))) throw new BuildError(`${what} ${abs}: Linux ${version} has no DRM accel subsystem (drivers/accel/, Linux 6.2 or later)`);
  const git = await isGitTop(abs);
  if (!git) {
    const built = ['include/config/auto.conf', 'vmlinux', 'Module.symvers'].filter((f) => existsSync(join(abs, f)));
    if (built.length) {
      throw new BuildError(
        `${what} ${abs}: built in place (${built.join(', ')}), and not a git tree whose ignored build products could be left out: ` +
          'run make mrproper in it (keep its .config aside and give it as OSSA_KERNEL_CONFIG), or give a git tree',
      );
    }
  }
  return { dir: abs, version, git };
}

/** Where the kernel's config comes from. */
export type KernelConfigSource = { kind: 'tinyconfig' } | { kind: 'given' | 'tree'; path: string };

/** The config of a build: OSSA_KERNEL_CONFIG (`given`), else the tree's .config, else tinyconfig. */
export function kernelConfigSource(tree: LinuxTreeDir, given: string | undefined): KernelConfigSource {
  if (given) return { kind: 'given', path: given };
  const own = join(tree.dir, '.config');
  return existsSync(own) ? { kind: 'tree', path: own } : { kind: 'tinyconfig' };
}

/** A guest kernel built from a tree. */
export interface OwnKernel extends KernelBuild {
  cache: CachedOutput;
  /** The tree's ossa.ko when it holds the driver; otherwise the driver is built out of tree. */
  inTreeDriver?: string;
  /** Where its config came from, for the log and the manifest. */
  configFrom: string;
}

/**
 * Reads a kernel config before anything is built: a file with CONFIG_
 * lines (OSSA_KERNEL_CONFIG, or the tree's .config); `what` names it in
 * the error. Returns its text.
 */
export async function checkKernelConfig(path: string, what: string): Promise<string> {
  if (!existsSync(path)) throw new BuildError(`${what} ${path}: no such file`);
  const text = await readFile(path, 'utf8');
  if (!/^CONFIG_\w+=/m.test(text)) throw new BuildError(`${what} ${path}: not a kernel config (no CONFIG_ line)`);
  return text;
}

/**
 * Builds the guest kernel of a checked tree (cached by the tree's record,
 * the config and the compiler). `area` names its work area when the tree's
 * path changes from build to build (see withRecordedTree).
 */
export async function buildOwnKernel(tree: LinuxTreeDir, what: string, given: string | undefined, area?: string): Promise<OwnKernel> {
  const source = kernelConfigSource(tree, given);
  const configText = source.kind === 'tinyconfig' ? '' : await checkKernelConfig(source.path, source.kind === 'given' ? 'OSSA_KERNEL_CONFIG' : what);
  const configFrom = source.kind === 'tinyconfig' ? 'tinyconfig' : source.kind === 'given' ? `OSSA_KERNEL_CONFIG ${source.path}` : `the tree's ${source.path}`;
  const gcc = await compilerVersion();
  return withRecordedTree('kernel', tree.dir, what, async ({ work, base, snapshot, lock }) => {
    const holdsDriver = snapshot.files.includes('drivers/accel/ossa/Kconfig');
    log(`kernel (${what}): ${tree.dir}, Linux ${tree.version}, config from ${configFrom}${holdsDriver ? ', the driver already in it' : ''}`);
    const cache = await cached(
      'kernel-own',
      {
        // The tree's own driver Kconfig is in its record when it holds the driver.
        files: holdsDriver ? [GUEST_CONFIG] : [GUEST_CONFIG, DRIVER_KCONFIG],
        recipe: ['ci/lib/own-kernel.ts', KERNEL_SOURCE_RECIPE],
        // tinyconfig is the empty text: a config given or the tree's has a CONFIG_ line.
        values: { snapshot: snapshot.commit, config: createHash('sha256').update(configText).digest('hex'), gcc },
      },
      async (dir) => {
        // A checkout kept from an earlier build: this one is incremental, not a cold build's time.
        const incremental = existsSync(join(work, 'linux', '.config'));
        const src = await pristineCheckout(base, join(work, 'linux'));
        if (!holdsDriver) await hookDriverKconfig(src, `${what} ${tree.dir}`);
        const baseConfig = source.kind === 'tinyconfig' ? undefined : join(dir, 'base.config');
        if (baseConfig) await writeFile(baseConfig, configText);
        await configureKernel({ what: `kernel (${what})`, src, ...(baseConfig ? { base: baseConfig } : {}), fragments: [GUEST_CONFIG] });
        await compileKernel(`kernel (${what})`, src, dir);
        return { incremental };
      },
      { lock, held: true },
    );
    const kernel = await readKernelBuild(`kernel (${what})`, cache.dir);
    if (!holdsDriver) return { ...kernel, cache, configFrom };
    // ossa.ko, or ossa.ko.xz and the like when the config compresses modules.
    const folder = join(kernel.modulesDir, 'kernel/drivers/accel/ossa');
    const ko = existsSync(folder) ? (await readdir(folder)).find((f) => /^ossa\.ko(\.\w+)?$/.test(f)) : undefined;
    if (!ko) throw new BuildError(`${what} ${tree.dir}: holds drivers/accel/ossa/, but its build installed no ossa.ko in ${folder} (CONFIG_DRM_ACCEL_OSSA=m?)`);
    return { ...kernel, cache, configFrom, inTreeDriver: join(folder, ko) };
  }, area);
}
