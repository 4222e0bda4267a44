/**
 * A lab's own Linux tree (OSSA_KERNEL_TREE, npm start -- --kernel DIR):
 * checked before anything is built, its config chosen as documented, the
 * driver's Kconfig hooked in beside the other accel drivers. The build
 * itself runs in the kernel-tree lane (ci/tests/guest-kernel-tree.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { DEBUG_CONFIG } from '../lib/debug-kernel.js';
import { configureKernel, fragmentSettings, GUEST_CONFIG, hookDriverKconfig } from '../lib/kernel-source-build.js';
import type { BuildManifest } from '../lib/manifest.js';
import { buildOwnKernel, checkLinuxTree, kernelConfigSource, makefileVersion } from '../lib/own-kernel.js';
import { manifestPath, repoRoot } from '../lib/paths.js';
import { put, scratchDir, useCacheDir } from './support/scratch.js';

const scratch = scratchDir('ossa-own-kernel-');
let dir: string;
beforeAll(() => {
  dir = scratch.path();
});

const MAKEFILE = '# SPDX-License-Identifier: GPL-2.0\nVERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 13\nEXTRAVERSION = -rc1\nNAME = Baby Opossum Posse\n';
const ACCEL_KCONFIG = 'menuconfig DRM_ACCEL\n\tbool "Compute Acceleration Framework"\n\nif DRM_ACCEL\n\nsource "drivers/accel/qaic/Kconfig"\n\nendif\n';
/** The files a tree needs to pass the check. */
const linuxTree = (extra: Record<string, string> = {}): Record<string, string> => ({
  'Makefile': MAKEFILE,
  'Kconfig': '',
  'arch/x86/Kconfig': '',
  'scripts/kconfig/merge_config.sh': '',
  'kernel/configs/kvm_guest.config': '',
  'scripts/package/install-extmod-build': '',
  'drivers/accel/Kconfig': ACCEL_KCONFIG,
  ...extra,
});
const git = (cwd: string, args: string[]) =>
  execa('git', args, { cwd, env: { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' } });

describe('checkLinuxTree', () => {
  test('reads the version from the top Makefile', () => {
    expect(makefileVersion(MAKEFILE)).toBe('7.2.13-rc1');
    expect(makefileVersion('VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL =\nEXTRAVERSION =\n')).toBe('6.12');
    expect(makefileVersion('all:\n\techo hello\n')).toBeUndefined();
  });

  test('refuses a folder that is not a Linux tree, naming what it lacks, and a Linux without DRM accel', async () => {
    await put(join(dir, 'not-linux'), { 'README': 'hello\n' });
    await expect(checkLinuxTree('not-linux', 'OSSA_KERNEL_TREE', dir)).rejects.toThrow(
      `OSSA_KERNEL_TREE ${join(dir, 'not-linux')}: not a Linux source tree ossa can build (no Makefile, Kconfig, arch/x86/Kconfig, scripts/kconfig/merge_config.sh, kernel/configs/kvm_guest.config, scripts/package/install-extmod-build; ossa builds Linux 6.6 or later)`,
    );
    const old = join(dir, 'old');
    await put(old, { ...linuxTree(), 'Makefile': 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION =\n' });
    await rm(join(old, 'drivers'), { recursive: true });
    await expect(checkLinuxTree(old, 'OSSA_KERNEL_TREE')).rejects.toThrow(`OSSA_KERNEL_TREE ${old}: Linux 6.1.0 has no DRM accel subsystem`);
  });

  test('refuses a tree outside git that was built in place, and takes a git tree built in place (its build products are ignored files)', async () => {
    const plain = join(dir, 'plain-built');
    await put(plain, linuxTree({ 'include/config/auto.conf': 'CONFIG_X=y\n', '.config': 'CONFIG_X=y\n' }));
    await expect(checkLinuxTree(plain, 'OSSA_KERNEL_TREE')).rejects.toThrow(
      `OSSA_KERNEL_TREE ${plain}: built in place (include/config/auto.conf), and not a git tree whose ignored build products could be left out: run make mrproper in it`,
    );
    const clean = join(dir, 'plain-clean');
    await put(clean, linuxTree());
    expect(await checkLinuxTree(clean, 'OSSA_KERNEL_TREE')).toEqual({ dir: clean, version: '7.2.13-rc1', git: false });

    const tracked = join(dir, 'git-built');
    await put(tracked, linuxTree({ '.gitignore': '.config\ninclude/config/\nvmlinux\n' }));
    await git(tracked, ['init', '-q']);
    await git(tracked, ['add', '-A']);
    await git(tracked, ['commit', '-qm', 'tree']);
    await put(tracked, { 'include/config/auto.conf': 'CONFIG_X=y\n', 'vmlinux': '' });
    expect(await checkLinuxTree(tracked, 'OSSA_KERNEL_TREE')).toEqual({ dir: tracked, version: '7.2.13-rc1', git: true });
    // Reached through a link, it is still the git tree it is (git names its top by the real path).
    await symlink(tracked, join(dir, 'git-link'));
    expect(await checkLinuxTree(join(dir, 'git-link'), 'OSSA_KERNEL_TREE')).toMatchObject({ git: true });
  });
});

describe('the config of a kernel from a tree', () => {
  test('is OSSA_KERNEL_CONFIG if given, else the tree\'s .config, else tinyconfig', async () => {
    const tree = join(dir, 'configs');
    await put(tree, linuxTree());
    const checked = await checkLinuxTree(tree, 'OSSA_KERNEL_TREE');
    expect(kernelConfigSource(checked, undefined)).toEqual({ kind: 'tinyconfig' });
    await writeFile(join(tree, '.config'), 'CONFIG_X=y\n');
    expect(kernelConfigSource(checked, undefined)).toEqual({ kind: 'tree', path: join(tree, '.config') });
    expect(kernelConfigSource(checked, '/etc/my.config')).toEqual({ kind: 'given', path: '/etc/my.config' });
  });

  test('a config given that is missing or is no config is refused before the tree is recorded', async () => {
    useCacheDir(join(dir, 'cache'));
    const tree = join(dir, 'given');
    await put(tree, linuxTree({ 'notes.txt': 'not a config\n' }));
    const checked = await checkLinuxTree(tree, 'OSSA_KERNEL_TREE');
    await expect(buildOwnKernel(checked, 'OSSA_KERNEL_TREE', join(dir, 'none.config'))).rejects.toThrow(`OSSA_KERNEL_CONFIG ${join(dir, 'none.config')}: no such file`);
    await expect(buildOwnKernel(checked, 'OSSA_KERNEL_TREE', join(tree, 'notes.txt'))).rejects.toThrow(`OSSA_KERNEL_CONFIG ${join(tree, 'notes.txt')}: not a kernel config (no CONFIG_ line)`);
    await writeFile(join(tree, '.config'), '# nothing\n');
    await expect(buildOwnKernel(checked, 'OSSA_KERNEL_TREE', undefined)).rejects.toThrow(`OSSA_KERNEL_TREE ${join(tree, '.config')}: not a kernel config (no CONFIG_ line)`);
    expect(existsSync(join(dir, 'cache'))).toBe(false);
  });
});

describe("the driver's Kconfig", () => {
  test('goes at the end of a drivers/accel/Kconfig without an endif', async () => {
    const tree = join(dir, 'hook-flat');
    await put(tree, { 'drivers/accel/Kconfig': 'source "drivers/accel/qaic/Kconfig"' });
    await hookDriverKconfig(tree, 'OSSA_KERNEL_TREE');
    expect(await readFile(join(tree, 'drivers/accel/Kconfig'), 'utf8')).toBe('source "drivers/accel/qaic/Kconfig"\nsource "drivers/accel/ossa/Kconfig"\n');
  });

  test('goes beside the other accel drivers, before the menu\'s endif, once', async () => {
    const tree = join(dir, 'hook');
    await put(tree, linuxTree());
    await hookDriverKconfig(tree, 'OSSA_KERNEL_TREE');
    await hookDriverKconfig(tree, 'OSSA_KERNEL_TREE');
    expect(await readFile(join(tree, 'drivers/accel/Kconfig'), 'utf8')).toBe(
      ACCEL_KCONFIG.replace('source "drivers/accel/qaic/Kconfig"\n', 'source "drivers/accel/qaic/Kconfig"\nsource "drivers/accel/ossa/Kconfig"\n'),
    );
    expect(await readFile(join(tree, 'drivers/accel/ossa/Kconfig'), 'utf8')).toBe(await readFile(join(repoRoot, 'kernel-driver/Kconfig'), 'utf8'));
  });
});

describe('npm start --kernel', () => {
  // Without the trees a user's shell may name: then --kernel-config alone would be no error.
  const env = { OSSA_KERNEL_TREE: undefined, OSSA_KERNEL_CONFIG: undefined, OSSA_QEMU_TREE: undefined };
  const start = (args: string[]) => execa(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'ci/start.ts'), ...args], { cwd: repoRoot, reject: false, all: true, env });

  test('--kernel-config without --kernel is a usage error (exit 2); a --kernel that is no Linux tree fails before anything boots (exit 1)', async () => {
    const lone = await start(['--kernel-config', '/etc/hostname']);
    expect(lone.exitCode).toBe(2);
    expect(lone.all).toMatch(/--kernel-config needs --kernel DIR[\s\S]*usage: npm start/);
    const none = join(dir, 'no-such-tree');
    const missing = await start(['--kernel', none]);
    expect(missing.exitCode).toBe(1);
    expect(missing.all).toContain(`OSSA_KERNEL_TREE ${none}: not a Linux source tree ossa can build`);
    expect(missing.all).not.toContain('guest: booting');
    expect(existsSync(none)).toBe(false);
  }, 120_000);
});

describe('configuring a real tree (linux-source-6.12)', () => {
  const tarball = '/usr/src/linux-source-6.12.tar.xz';
  const headers = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as BuildManifest).kernelHeaders : undefined;
  const debian = headers ? join(headers, '.config') : undefined;
  const missing = !existsSync(tarball) ? `no ${tarball} (ci/setup.sh installs linux-source-6.12)` : !debian || !existsSync(debian) ? 'no Debian kernel config in the build (npm run build makes it)' : undefined;

  test.skipIf(missing)(`takes Debian's own config, keeping its choices and turning on what the guest needs; tinyconfig takes the whole fragments${missing ? ` (skipped: ${missing})` : ''}`, async () => {
    const src = join(dir, 'linux-source-6.12');
    await execa('tar', ['-xJf', tarball, '-C', dir]);
    await hookDriverKconfig(src, 'linux-source-6.12');
    const given = await configureKernel({ what: 'linux-source-6.12', src, base: debian as string, fragments: [GUEST_CONFIG] });
    const got = fragmentSettings(given);
    // Debian's choices that images/guest.config trims on tinyconfig stay Debian's.
    expect([got.get('CONFIG_NR_CPUS'), got.get('CONFIG_FUNCTION_TRACER'), got.get('CONFIG_RD_XZ')]).toEqual(['8192', 'y', 'y']);
    expect([got.get('CONFIG_DRM_ACCEL_OSSA'), got.get('CONFIG_FTRACE_SYSCALLS'), got.get('CONFIG_DRM_VGEM')]).toEqual(['m', 'y', expect.stringMatching(/^[ym]$/)]);
    const tiny = fragmentSettings(await configureKernel({ what: 'linux-source-6.12', src, fragments: [GUEST_CONFIG, DEBUG_CONFIG] }));
    expect(['CONFIG_NR_CPUS', 'CONFIG_FUNCTION_TRACER', 'CONFIG_KASAN', 'CONFIG_DRM_ACCEL_OSSA'].map((k) => tiny.get(k) ?? 'n')).toEqual(['8', 'n', 'y', 'm']);
  }, 600_000);
});
