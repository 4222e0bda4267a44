/**
 * The Linux series in the tree it is made for: applied with `git am` to a
 * checkout of the pristine newest kernel tree, configured from the newest
 * kernel's own configuration with CONFIG_DRM_ACCEL_OSSA=m, built there as
 * a module with W=1 and sparse (C=1) by sid's compiler, and each patch
 * passed through that tree's `checkpatch.pl --strict`. Runs in the sid
 * root (ci/lib/sid.ts), where the tree's scripts find what they need.
 */
import { basename, join } from 'node:path';
import { cacheDir } from './paths.js';
import { runInSidRoot } from './sid.js';

/** What the sid root needs beyond the newest kernel's headers (and the compiler they bring). */
export const INTREE_PACKAGES = ['make', 'bc', 'bison', 'flex', 'libelf-dev', 'libssl-dev', 'sparse', 'git', 'python3-ply', 'python3-git'];

export interface InTreeBuild {
  /** The checkout the series was applied to and built in. */
  work: string;
  /** The configure and build output. */
  log: string;
  /** Warnings and errors of the compiler or sparse (lines with "warning:" or "error:"). */
  warnings: string[];
}

/** The checkout of the pristine tree `key` the series is applied to and built in (kept from run to run). */
export function linuxCheckoutDir(key: string): string {
  return join(cacheDir(), 'linux-intree', key);
}

/** The compiler a kernel was built with, from its CONFIG_CC_VERSION_TEXT ('x86_64-linux-gnu-gcc-16 (Debian ...)'). */
export function kernelCompiler(config: string): string {
  return /^CONFIG_CC_VERSION_TEXT="(\S+)/m.exec(config)?.[1] ?? 'gcc';
}

/**
 * Configures and builds drivers/accel/ossa/ossa.ko in `work`, in the sid
 * root `root`, for kernel `release`, and the core's `coreObjects` (e.g.
 * drivers/gpu/drm/drm_auth.o) that the series changes.
 */
export async function buildInTree(root: string, work: string, release: string, cc: string, coreObjects: readonly string[] = []): Promise<InTreeBuild> {
  const headers = `/usr/src/linux-headers-${release}`;
  const make = `make -j"$(nproc)" CC=${cc} HOSTCC=${cc}`;
  const script = [
    'set -e',
    'cd /build/linux',
    // The kernel's configuration with the driver as a module; configured
    // again only when that changes, so that a rerun builds only the driver.
    `cp ${headers}/.config .config.ossa-want`,
    './scripts/config --file .config.ossa-want --enable DRM_ACCEL --module DRM_ACCEL_OSSA',
    // (a build of the tree without the series drops the symbol from .config)
    "if ! cmp -s .config.ossa-want .config.ossa-made || ! grep -qx 'CONFIG_DRM_ACCEL_OSSA=m' .config; then",
    '  cp .config.ossa-want .config',
    `  ${make} olddefconfig`,
    '  cp .config.ossa-want .config.ossa-made',
    'fi',
    "grep -qx 'CONFIG_DRM_ACCEL_OSSA=m' .config || { echo 'CONFIG_DRM_ACCEL_OSSA=m did not survive olddefconfig'; exit 1; }",
    `${make} modules_prepare`,
    // Compiled through drivers/accel/Makefile and the driver's own, as
    // the kernel's build compiles it.
    `${make} W=1 C=2 drivers/accel/ossa/`,
    // The objects of the core that the series' fixes change, likewise.
    ...(coreObjects.length ? [`${make} W=1 C=2 ${coreObjects.join(' ')}`] : []),
    // Linked as a module of this tree, its symbols checked by modpost
    // against the kernel's own (a single-module build has no vmlinux to
    // check them against).
    `cp ${headers}/Module.symvers Module.symvers`,
    `${make} W=1 M=/build/linux/drivers/accel/ossa modules`,
    'test -f drivers/accel/ossa/ossa.ko',
  ].join('\n');
  const log = await runInSidRoot(root, 'the in-tree build of drivers/accel/ossa', ['sh', '-c', script], [{ host: work, inside: '/build/linux' }]);
  return { work, log, warnings: log.split('\n').filter((l) => /\b(warning|error):/i.test(l)) };
}

/** Runs the tree's checkpatch.pl --strict on each patch; returns its report per patch. */
export async function checkpatchLinux(root: string, work: string, patches: string[]): Promise<Map<string, string>> {
  const reports = new Map<string, string>();
  const numbered = patches.filter((p) => !basename(p).startsWith('0000-'));
  for (const p of numbered) {
    const dir = join(p, '..');
    const script = `cd /build/linux && ./scripts/checkpatch.pl --strict --show-types /build/patches/${basename(p)} || true`;
    reports.set(basename(p), await runInSidRoot(root, `checkpatch of ${basename(p)}`, ['sh', '-c', script], [
      { host: work, inside: '/build/linux' },
      { host: dir, inside: '/build/patches' },
    ]));
  }
  return reports;
}
