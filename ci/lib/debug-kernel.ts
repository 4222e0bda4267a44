/**
 * The debug guest kernel: Debian's linux-source for the same 6.12 release as
 * the guest kernel, configured as tinyconfig + kvm_guest.config + the
 * fragment in images/debug-kernel/, with KASAN, lockdep, kmemleak, the
 * DMA-API and object debuggers, fault injection and gcov, and the core's
 * fixes of kernel-driver/linux-fixes/ applied. It keeps what an
 * out-of-tree module build needs (scripts/package/install-extmod-build),
 * so the driver builds against it exactly as against Debian's headers.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, ExecaError } from 'execa';
import { cached, type CachedOutput } from './cache.js';
import type { Kernel } from './kernel.js';
import { applyLinuxFixes, LINUX_FIXES_DIR } from './linux-fixes.js';
import { repoRoot } from './paths.js';
import { BuildError, log } from './progress.js';

export interface DebugKernel {
  /** The debug kernel's release string (uname -r). */
  release: string;
  vmlinuz: string;
  /** lib/modules/<release>, with modules.dep. */
  modulesDir: string;
  /** KDIR for out-of-tree module builds. */
  headersDir: string;
  /** The merged .config, for reference. */
  config: string;
  cache: CachedOutput;
}

const FRAGMENT = 'images/debug-kernel/debug.config';
/** The driver's Kconfig goes into the tree so that its selects (drm_sched, GEM shmem) are honoured. */
const DRIVER_KCONFIG = 'kernel-driver/Kconfig';

/** The Debian source version (e.g. 6.12.117-1~deb12u1) that built `release`. */
async function sourceVersion(release: string): Promise<string> {
  const { stdout } = await execa('apt-cache', ['show', '--no-all-versions', `linux-image-${release}-unsigned`]);
  const version = /^Version: (\S+)$/m.exec(stdout)?.[1];
  if (!version) throw new BuildError(`debug kernel: apt-cache show linux-image-${release}-unsigned gives no Version`);
  return version;
}

async function compilerVersion(): Promise<string> {
  const { stdout } = await execa('gcc', ['--version']);
  return stdout.split('\n')[0] ?? 'unknown';
}

async function run(what: string, cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  try {
    await execa(cmd, args, { cwd, all: true, env: { LC_ALL: 'C', ...env } });
  } catch (err) {
    if (err instanceof ExecaError) {
      const tail = String(err.all ?? '').split('\n').slice(-40).join('\n');
      throw new BuildError(`debug kernel: ${what} failed (${cmd} exited with ${err.exitCode ?? err.signal}):\n${tail}`);
    }
    throw err;
  }
}

/** The fragment's settings: CONFIG_X=v and "# CONFIG_X is not set" lines. */
export function fragmentSettings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
    const unset = /^# (CONFIG_[A-Z0-9_]+) is not set$/.exec(line);
    if (set) out.set(set[1] as string, set[2] as string);
    else if (unset) out.set(unset[1] as string, 'n');
  }
  return out;
}

/** Settings of the fragment that the final .config does not have (Kconfig dropped them). */
export function droppedSettings(fragment: Map<string, string>, config: string): string[] {
  const final = fragmentSettings(config);
  const dropped: string[] = [];
  for (const [sym, want] of fragment) {
    const have = final.get(sym) ?? 'n';
    if (have !== want) dropped.push(`${sym}=${want} (got ${have})`);
  }
  return dropped;
}

export async function buildDebugKernel(base: Kernel): Promise<DebugKernel> {
  const version = await sourceVersion(base.release);
  const pkg = `linux-source-6.12=${version}`;
  const inputs = {
    files: [FRAGMENT, DRIVER_KCONFIG, LINUX_FIXES_DIR, 'ci/lib/debug-kernel.ts', 'ci/lib/linux-fixes.ts'],
    recipe: ['ci/lib/debug-kernel.ts', 'ci/lib/linux-fixes.ts'],
    values: { source: pkg, gcc: await compilerVersion() },
  };
  const cache = await cached('debug-kernel', inputs, async (dir) => {
    const work = join(dir, 'work');
    await mkdir(work);
    log(`debug kernel: downloading ${pkg}`);
    await run('apt-get download', 'apt-get', ['download', '-q', pkg], work);
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new BuildError(`debug kernel: apt-get download ${pkg} left no .deb`);
    await run('unpacking the source package', 'dpkg-deb', ['-x', deb, 'pkg'], work);
    const tarball = join(work, 'pkg/usr/src/linux-source-6.12.tar.xz');
    if (!existsSync(tarball)) throw new BuildError(`debug kernel: ${pkg} holds no usr/src/linux-source-6.12.tar.xz`);
    log('debug kernel: unpacking the kernel source');
    await run('unpacking the kernel source', 'tar', ['-xf', tarball], work);
    await rm(join(work, 'pkg'), { recursive: true });
    const src = join(work, 'linux-source-6.12');

    // The core's fixes that the driver relies on, as they go upstream.
    for (const f of await applyLinuxFixes(src, pkg)) log(`debug kernel: applied ${f.subject}`);

    // The driver's Kconfig, hooked into drivers/accel as it is upstream.
    await mkdir(join(src, 'drivers/accel/ossa'));
    await copyFile(join(repoRoot, DRIVER_KCONFIG), join(src, 'drivers/accel/ossa/Kconfig'));
    const accelKconfig = join(src, 'drivers/accel/Kconfig');
    const text = await readFile(accelKconfig, 'utf8');
    const anchor = 'source "drivers/accel/qaic/Kconfig"\n';
    if (!text.includes(anchor)) throw new BuildError(`debug kernel: ${accelKconfig} has no line ${anchor.trim()}`);
    await writeFile(accelKconfig, text.replace(anchor, `${anchor}source "drivers/accel/ossa/Kconfig"\n`));

    log('debug kernel: configuring (tinyconfig + kvm_guest.config + images/debug-kernel/debug.config)');
    await run('make tinyconfig', 'make', ['tinyconfig'], src);
    const fragmentPath = join(repoRoot, FRAGMENT);
    await run('merge_config.sh', 'scripts/kconfig/merge_config.sh', ['-m', '.config', 'kernel/configs/kvm_guest.config', fragmentPath], src);
    await run('make olddefconfig', 'make', ['olddefconfig'], src);
    const config = await readFile(join(src, '.config'), 'utf8');
    const dropped = droppedSettings(fragmentSettings(await readFile(fragmentPath, 'utf8')), config);
    if (dropped.length) {
      throw new BuildError(`debug kernel: Kconfig dropped settings of ${FRAGMENT} (a missing dependency?):\n  ${dropped.join('\n  ')}`);
    }

    const jobs = String(Math.max(1, cpus().length));
    log(`debug kernel: compiling (make -j${jobs}; about 10 min on 2 cores)`);
    await run('make bzImage modules', 'make', [`-j${jobs}`, 'bzImage', 'modules'], src);
    const { stdout: release } = await execa('make', ['-s', 'kernelrelease'], { cwd: src });

    await copyFile(join(src, 'arch/x86/boot/bzImage'), join(dir, 'vmlinuz'));
    await copyFile(join(src, '.config'), join(dir, 'config'));
    await run('make modules_install', 'make', ['modules_install', `INSTALL_MOD_PATH=${join(dir, 'root')}`], src);
    await run('install-extmod-build', 'make', [
      'run-command',
      `KBUILD_RUN_COMMAND=$(srctree)/scripts/package/install-extmod-build ${join(dir, 'build')}`,
    ], src);
    await writeFile(join(dir, 'release'), `${release.trim()}\n`);
    await rm(work, { recursive: true });
  });
  const release = (await readFile(join(cache.dir, 'release'), 'utf8')).trim();
  const kernel: DebugKernel = {
    release,
    vmlinuz: join(cache.dir, 'vmlinuz'),
    modulesDir: join(cache.dir, 'root/lib/modules', release),
    headersDir: join(cache.dir, 'build'),
    config: join(cache.dir, 'config'),
    cache,
  };
  for (const p of [kernel.vmlinuz, join(kernel.modulesDir, 'modules.dep'), join(kernel.headersDir, 'Module.symvers')]) {
    if (!existsSync(p)) throw new BuildError(`debug kernel: ${p} missing after the build`);
  }
  return kernel;
}
