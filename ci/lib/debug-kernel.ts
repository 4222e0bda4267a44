/**
 * The debug guest kernel: Debian's linux-source for the same 6.12 release as
 * the guest kernel, configured as tinyconfig + kvm_guest.config +
 * images/guest.config + images/debug-kernel/debug.config, with KASAN,
 * lockdep, kmemleak, the DMA-API and object debuggers, fault injection and
 * gcov, and the core's fixes of kernel-driver/linux-fixes/ applied. It
 * keeps what an out-of-tree module build needs, so the driver builds
 * against it exactly as against Debian's headers (ci/lib/kernel-source-build.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cached, type CachedOutput } from './cache.js';
import type { Kernel } from './kernel.js';
import {
  compileKernel, compilerVersion, configureKernel, DRIVER_KCONFIG, GUEST_CONFIG, hookDriverKconfig,
  KERNEL_SOURCE_RECIPE, type KernelBuild, readKernelBuild, runStep,
} from './kernel-source-build.js';
import { applyLinuxFixes, LINUX_FIXES_DIR } from './linux-fixes.js';
import { BuildError, log } from './progress.js';

export interface DebugKernel extends KernelBuild {
  cache: CachedOutput;
}

/** The checkers, on top of the guest's own fragment. */
export const DEBUG_CONFIG = 'images/debug-kernel/debug.config';
const WHAT = 'debug kernel';

/** The Debian source version (e.g. 6.12.117-1~deb12u1) that built `release`. */
async function sourceVersion(release: string): Promise<string> {
  const { stdout } = await execa('apt-cache', ['show', '--no-all-versions', `linux-image-${release}-unsigned`]);
  const version = /^Version: (\S+)$/m.exec(stdout)?.[1];
  if (!version) throw new BuildError(`debug kernel: apt-cache show linux-image-${release}-unsigned gives no Version`);
  return version;
}

export async function buildDebugKernel(base: Kernel): Promise<DebugKernel> {
  const version = await sourceVersion(base.release);
  const pkg = `linux-source-6.12=${version}`;
  const inputs = {
    files: [GUEST_CONFIG, DEBUG_CONFIG, DRIVER_KCONFIG, LINUX_FIXES_DIR, 'ci/lib/debug-kernel.ts', 'ci/lib/linux-fixes.ts', KERNEL_SOURCE_RECIPE],
    recipe: ['ci/lib/debug-kernel.ts', 'ci/lib/linux-fixes.ts', KERNEL_SOURCE_RECIPE],
    values: { source: pkg, gcc: await compilerVersion() },
  };
  const cache = await cached('debug-kernel', inputs, async (dir) => {
    const work = join(dir, 'work');
    await mkdir(work);
    log(`debug kernel: downloading ${pkg}`);
    await runStep(WHAT, 'apt-get download', 'apt-get', ['download', '-q', pkg], work);
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new BuildError(`debug kernel: apt-get download ${pkg} left no .deb`);
    await runStep(WHAT, 'unpacking the source package', 'dpkg-deb', ['-x', deb, 'pkg'], work);
    const tarball = join(work, 'pkg/usr/src/linux-source-6.12.tar.xz');
    if (!existsSync(tarball)) throw new BuildError(`debug kernel: ${pkg} holds no usr/src/linux-source-6.12.tar.xz`);
    log('debug kernel: unpacking the kernel source');
    await runStep(WHAT, 'unpacking the kernel source', 'tar', ['-xf', tarball], work);
    await rm(join(work, 'pkg'), { recursive: true });
    const src = join(work, 'linux-source-6.12');

    // The core's fixes that the driver relies on, as they go upstream.
    for (const f of await applyLinuxFixes(src, pkg)) log(`debug kernel: applied ${f.subject}`);
    await hookDriverKconfig(src, WHAT);
    await configureKernel({ what: WHAT, src, fragments: [GUEST_CONFIG, DEBUG_CONFIG] });
    await compileKernel(WHAT, src, dir);
    await rm(work, { recursive: true });
  });
  return { ...(await readKernelBuild(WHAT, cache.dir)), cache };
}
