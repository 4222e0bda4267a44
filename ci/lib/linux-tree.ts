/**
 * The newest kernel's source tree, pristine, as a git repository: what the
 * Linux patch series (`npm run patches`) is made against and applied to.
 * It is Debian's `linux-source-X.Y` of the newest kernel's version (the
 * upstream release with Debian's patches), unpacked and committed once,
 * cached by that package's version.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cached, type CachedOutput } from './cache.js';
import { commitPristine } from './git-tree.js';
import { BuildError } from './progress.js';
import { downloadSidPackages, SID_RECIPE, sidPackageVersion, updateSidLists } from './sid.js';

export interface LinuxTree {
  /** The repository; HEAD is the pristine tree. */
  dir: string;
  /** linux-source-X.Y's version, e.g. 7.2.13-1. */
  version: string;
  cache: CachedOutput;
}

/** The source package of a kernel release: 7.2.13+deb14-amd64 → linux-source-7.2 at 7.2.13-*. */
export function linuxSourcePackage(release: string): { name: string; upstream: string } {
  const m = /^((\d+)\.(\d+)(?:\.\d+)?)[+-]/.exec(release);
  if (!m) throw new BuildError(`kernel release ${release}: not of the form X.Y.Z+debN-flavour`);
  return { name: `linux-source-${m[2]}.${m[3]}`, upstream: m[1] ?? '' };
}

/** Downloads, unpacks and commits the source of the newest kernel `release` (cached by the package's version). */
export async function newestLinuxTree(release: string): Promise<LinuxTree> {
  await updateSidLists();
  const pkg = linuxSourcePackage(release);
  const version = await sidPackageVersion(pkg.name);
  if (!version.startsWith(`${pkg.upstream}-`)) {
    throw new BuildError(`${pkg.name} in sid is ${version}, not the source of kernel ${release} (${pkg.upstream}): sid's lists may be newer than the kernel chosen`);
  }
  const cache = await cached('linux-tree', { recipe: ['ci/lib/linux-tree.ts', SID_RECIPE], values: { package: pkg.name, version } }, async (dir) => {
    const debs = join(dir, 'debs');
    await execa('mkdir', ['-p', debs]);
    await downloadSidPackages([`${pkg.name}=${version}`], debs);
    const [deb] = await readdir(debs);
    if (!deb) throw new BuildError(`${pkg.name}: nothing downloaded`);
    await execa('dpkg-deb', ['-x', join(debs, deb), join(dir, 'deb')]);
    const tarball = join(dir, 'deb', 'usr', 'src', `${pkg.name}.tar.xz`);
    if (!existsSync(tarball)) throw new BuildError(`${pkg.name}: no usr/src/${pkg.name}.tar.xz in the package`);
    await execa('tar', ['--no-same-owner', '-xf', tarball, '-C', dir]);
    await execa('rm', ['-rf', debs, join(dir, 'deb')]);
    const src = join(dir, pkg.name);
    if (!existsSync(join(src, 'MAINTAINERS'))) throw new BuildError(`${pkg.name}: the tarball did not unpack to ${pkg.name}/`);
    await execa('mv', [src, join(dir, 'linux')]);
    await commitPristine(join(dir, 'linux'), `${pkg.name} ${version}`);
  });
  return { dir: join(cache.dir, 'linux'), version, cache };
}
