import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cached, type CachedOutput } from './cache.js';
import { BuildError, log } from './progress.js';
import { downloadSidPackages, SID_RECIPE, sidPackageNames, updateSidLists } from './sid.js';

/** The guest kernel: Debian's 6.12 build, unpacked with its matching headers. */
export interface Kernel {
  /** The kernel release, e.g. 6.12.117+deb12-amd64. */
  release: string;
  /** Unpacked packages: boot/vmlinuz-*, lib/modules/*, usr/src/linux-headers-*. */
  root: string;
  vmlinuz: string;
  modulesDir: string;
  headersDir: string;
  /** The kernel's uapi headers (include/uapi of the -common headers). */
  uapiDir: string;
  cache: CachedOutput;
}

const IMAGE_RE = /^linux-image-(6\.12\.(\d+)\+deb12)-amd64-unsigned$/;

async function aptNames(pattern: string): Promise<string[]> {
  const { stdout } = await execa('apt-cache', ['search', '--names-only', pattern]);
  return stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

/**
 * Picks the guest kernel: $OSSA_KERNEL_RELEASE when set, else the newest
 * linux-image-6.12.*+deb12-amd64-unsigned in the archive whose matching
 * linux-headers package also exists. Debian drops old builds, so this is
 * chosen at build time and never written into the sources.
 */
export async function selectKernelRelease(): Promise<string> {
  const forced = process.env.OSSA_KERNEL_RELEASE;
  if (forced) return forced;
  const images = await aptNames('^linux-image-6\\.12\\..*\\+deb12-amd64-unsigned$');
  const headers = new Set(await aptNames('^linux-headers-6\\.12\\..*\\+deb12-amd64$'));
  const candidates = images
    .map((name) => IMAGE_RE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .filter((m) => headers.has(`linux-headers-${m[1]}-amd64`))
    .sort((a, b) => Number(b[2]) - Number(a[2]));
  const best = candidates[0];
  if (!best) {
    throw new BuildError(
      'no Debian 6.12 kernel with matching headers found in the apt archive ' +
        '(looked for linux-image-6.12.*+deb12-amd64-unsigned and linux-headers-6.12.*+deb12-amd64; ' +
        'run apt-get update, or set OSSA_KERNEL_RELEASE)',
    );
  }
  return `${best[1]}-amd64`;
}

/** Downloads and unpacks the kernel image and its headers (cached by release). */
export async function fetchKernel(release: string): Promise<Kernel> {
  const base = release.replace(/-amd64$/, '');
  const packages = [
    `linux-image-${release}-unsigned`,
    `linux-headers-${release}`,
    `linux-headers-${base}-common`,
    `linux-kbuild-${base}`,
  ];
  const cache = await cached('kernel', { recipe: ['ci/lib/kernel.ts'], values: { release, packages: packages.join(' ') } }, async (dir) => {
    const debs = join(dir, 'debs');
    await mkdir(debs);
    log(`kernel: downloading ${packages.join(', ')}`);
    try {
      await execa('apt-get', ['download', '-q', ...packages], { cwd: debs });
    } catch (err) {
      throw new BuildError(`apt-get download of kernel ${release} failed: ${(err as Error).message}`);
    }
    const root = join(dir, 'root');
    for (const deb of await readdir(debs)) {
      await execa('dpkg-deb', ['-x', join(debs, deb), root]);
    }
    // Debian's headers Makefile includes the -common one by absolute path;
    // point it at the unpacked copy instead (relative: make -C runs there).
    const headersMakefile = join(root, 'usr', 'src', `linux-headers-${release}`, 'Makefile');
    await writeFile(headersMakefile, `include ../linux-headers-${base}-common/Makefile\n`);
    // The package ships no modules.dep: make it, as the postinst would.
    await execa('depmod', ['-b', root, release]);
    await execa('rm', ['-rf', debs]);
  });
  const root = join(cache.dir, 'root');
  const kernel: Kernel = {
    release,
    root,
    vmlinuz: join(root, 'boot', `vmlinuz-${release}`),
    modulesDir: join(root, 'lib', 'modules', release),
    headersDir: join(root, 'usr', 'src', `linux-headers-${release}`),
    uapiDir: join(root, 'usr', 'src', `linux-headers-${base}-common`, 'include', 'uapi'),
    cache,
  };
  for (const p of [kernel.vmlinuz, kernel.modulesDir, kernel.headersDir, kernel.uapiDir]) {
    if (!existsSync(p)) throw new BuildError(`kernel ${release}: ${p} missing after unpacking`);
  }
  return kernel;
}

/** The newest kernel: its image and modules, unpacked on the host; its headers live in the sid root. */
export interface NewestKernel {
  /** The kernel release, e.g. 7.2.13+deb14-amd64. */
  release: string;
  vmlinuz: string;
  modulesDir: string;
  /** The packages its build headers need in a sid root. */
  headerPackages: string[];
  cache: CachedOutput;
}

const NEWEST_HEADERS_RE = /^linux-headers-((\d+)\.(\d+)\.(\d+)\+deb(\d+))-amd64$/;

/**
 * Its unsigned image and modules: linux-binary-unsigned-R, linux-modules-R
 * and linux-base-R (modules.builtin, modules.order) since Debian split them
 * in 7.x; linux-image-R-unsigned before.
 */
function imagePackages(release: string, names: Set<string>): string[] | undefined {
  const split = [`linux-binary-unsigned-${release}`, `linux-modules-${release}`, `linux-base-${release}`];
  if (split.every((p) => names.has(p))) return split;
  if (names.has(`linux-image-${release}-unsigned`)) return [`linux-image-${release}-unsigned`];
  return undefined;
}

/**
 * Picks the newest kernel: $OSSA_NEWEST_KERNEL_RELEASE when set, else the
 * highest linux-headers-X.Y.Z+debN-amd64 in sid whose unsigned image and
 * modules sid also serves. Chosen at build time, never written into the
 * sources.
 */
export async function selectNewestKernelRelease(): Promise<string> {
  const forced = process.env.OSSA_NEWEST_KERNEL_RELEASE;
  if (forced) return forced;
  await updateSidLists();
  const names = new Set(await sidPackageNames('^linux-(headers|binary-unsigned|modules|base|image)-[0-9]'));
  const best = [...names]
    .map((name) => NEWEST_HEADERS_RE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && imagePackages(`${m[1]}-amd64`, names) !== undefined)
    .sort((a, b) => {
      for (const i of [2, 3, 4, 5]) {
        const d = Number(b[i]) - Number(a[i]);
        if (d) return d;
      }
      return 0;
    })[0];
  if (!best) {
    throw new BuildError(
      'no kernel in sid with headers, an unsigned image and modules (looked for linux-headers-X.Y.Z+debN-amd64 ' +
        'beside linux-binary-unsigned-* and linux-modules-*, or linux-image-*-unsigned); set OSSA_NEWEST_KERNEL_RELEASE',
    );
  }
  return `${best[1]}-amd64`;
}

/** Downloads and unpacks the newest kernel's image and modules from sid (cached by release). */
export async function fetchNewestKernel(release: string): Promise<NewestKernel> {
  await updateSidLists();
  const names = new Set(await sidPackageNames(`^linux-(binary-unsigned|modules|base|image)-${release.replace(/[.+]/g, '\\$&')}`));
  const packages = imagePackages(release, names);
  if (!packages) throw new BuildError(`kernel ${release}: sid serves no unsigned image and modules for it`);
  const cache = await cached('kernel-newest', { recipe: ['ci/lib/kernel.ts', SID_RECIPE], values: { release, packages: packages.join(' ') } }, async (dir) => {
    const debs = join(dir, 'debs');
    await mkdir(debs);
    await downloadSidPackages(packages, debs);
    const root = join(dir, 'root');
    for (const deb of await readdir(debs)) {
      await execa('dpkg-deb', ['-x', join(debs, deb), root]);
    }
    await execa('rm', ['-rf', debs]);
    // sid's packages put modules under /usr/lib (merged /usr).
    const base = existsSync(join(root, 'usr', 'lib', 'modules', release)) ? join(root, 'usr') : root;
    await execa('depmod', ['-b', base, release]);
  });
  const root = join(cache.dir, 'root');
  const usrModules = join(root, 'usr', 'lib', 'modules', release);
  const modulesDir = existsSync(usrModules) ? usrModules : join(root, 'lib', 'modules', release);
  // Since 7.1 Debian keeps the unsigned image beside the modules.
  const vmlinuz = [join(modulesDir, 'vmlinuz.unsigned'), join(modulesDir, 'vmlinuz'), join(root, 'boot', `vmlinuz-${release}`)].find((p) => existsSync(p));
  if (!vmlinuz) throw new BuildError(`kernel ${release}: no vmlinuz in ${modulesDir} or ${join(root, 'boot')} after unpacking`);
  const kernel: NewestKernel = {
    release,
    vmlinuz,
    modulesDir,
    headerPackages: [`linux-headers-${release}`],
    cache,
  };
  for (const p of [join(kernel.modulesDir, 'modules.dep'), join(kernel.modulesDir, 'modules.builtin')]) {
    if (!existsSync(p)) throw new BuildError(`kernel ${release}: ${p} missing after unpacking`);
  }
  return kernel;
}
