/**
 * The code checks of `npm run check`, also run by `npm test`: for the
 * driver, checkpatch.pl --strict and kernel-doc from Debian's
 * linux-source-6.12, a sparse (C=1) and W=1 build against the guest
 * kernel's headers; for the device model, QEMU's checkpatch.pl; for the
 * TypeScript, tsc. Each returns its warnings, one line each.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cached } from './cache.js';
import { REGS_HEADER, stageDriver } from './driver-source.js';
import { readManifest } from './manifest.js';
import { cacheDir, repoRoot } from './paths.js';

const LINUX_SOURCE = '/usr/src/linux-source-6.12.tar.xz';
const driverDir = join(repoRoot, 'kernel-driver');
const uapiHeader = join(driverDir, 'include/uapi/drm/ossa_accel.h');

const sourcesOf = (dir: string, re: RegExp): string[] =>
  readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => join(dir, f));

/** The driver's C files and headers, its compat layer for older kernels, its uapi header and the register header it uses. */
export const driverFiles = (): string[] => [
  ...sourcesOf(driverDir, /\.[ch]$/),
  ...sourcesOf(join(driverDir, 'compat'), /\.[ch]$/),
  uapiHeader,
  join(repoRoot, REGS_HEADER),
];

/** The device model's C files and headers, the register header among them. */
export const deviceFiles = (): string[] => sourcesOf(join(repoRoot, 'qemu-device'), /\.[ch]$/);

/** The fixes build-qemu.sh applies to QEMU's own code, in mail form. */
export const qemuFixes = (): string[] => sourcesOf(join(repoRoot, 'qemu-device', 'qemu-fixes'), /\.patch$/);

/** scripts/ of Debian's Linux 6.12 source, unpacked once into the cache. */
async function linuxScripts(): Promise<string> {
  if (!existsSync(LINUX_SOURCE)) throw new Error(`${LINUX_SOURCE} missing: run npm run setup`);
  const st = statSync(LINUX_SOURCE);
  const values = { source: LINUX_SOURCE, size: String(st.size), mtime: String(st.mtimeMs) };
  const out = await cached('linux-scripts', { recipe: ['ci/lib/checks.ts'], values }, async (dir) => {
    await execa('tar', ['-xf', LINUX_SOURCE, '-C', dir, '--strip-components=1', 'linux-source-6.12/scripts']);
  }, { quiet: true });
  return join(out.dir, 'scripts');
}

const relative = (line: string): string => line.split(`${repoRoot}/`).join('');

/** checkpatch.pl --strict over the driver. */
export async function kernelCheckpatch(): Promise<string[]> {
  const scripts = await linuxScripts();
  const r = await execa('perl', [join(scripts, 'checkpatch.pl'), '--strict', '--no-tree', '--terse', '--show-types', '-f', ...driverFiles()], {
    reject: false,
    all: true,
  });
  return String(r.all)
    .split('\n')
    .filter((l) => /: (ERROR|WARNING|CHECK):/.test(l))
    .map(relative);
}

/** kernel-doc -none -Wall over the uapi header and the driver. */
export async function kernelDoc(): Promise<string[]> {
  const scripts = await linuxScripts();
  const r = await execa('perl', [join(scripts, 'kernel-doc'), '-none', '-Wall', ...driverFiles()], { reject: false, all: true });
  return String(r.all).split('\n').filter(Boolean).map(relative);
}

/**
 * The uapi header's constants that its kernel-doc does not render: every
 * enumerator must appear under its enum's constants with a description,
 * and no other constant may be an object-like macro, which kernel-doc
 * drops with its comment (the ioctl numbers, used only to build the
 * DRM_IOCTL_OSSA_* requests, aside).
 */
export function unrenderedConstants(header: string, rst: string): string[] {
  const ioctlNumbers = new Set([...header.matchAll(/DRM_COMMAND_BASE \+ (DRM_OSSA_\w+)/g)].map((mm) => mm[1]));
  const macros = [...header.matchAll(/^#define (DRM_OSSA_\w+)\s/gm)].map((mm) => mm[1] as string).filter((n) => !ioctlNumbers.has(n));
  const enumerators = [...header.matchAll(/^\s+(DRM_OSSA_\w+) = /gm)].map((mm) => mm[1] as string);
  return [
    ...macros.map((n) => `${n}: a macro, which kernel-doc does not render: make it an enumerator`),
    ...enumerators.filter((n) => !new RegExp(String.raw`^( *)\`\`${n}\`\`\n\1 +\S`, 'm').test(rst)).map((n) => `${n}: not rendered with a description`),
  ];
}

/** unrenderedConstants() of the uapi header, as kernel-doc -rst renders it. */
export async function uapiDocRendering(): Promise<string[]> {
  const scripts = await linuxScripts();
  const r = await execa('perl', [join(scripts, 'kernel-doc'), '-rst', uapiHeader]);
  return unrenderedConstants(await readFile(uapiHeader, 'utf8'), r.stdout).map((l) => `${relative(uapiHeader)}: ${l}`);
}

/** The driver built with W=1 and sparse (C=1) against the guest kernel's headers. */
export async function kernelBuildWarnings(): Promise<string[]> {
  const m = await readManifest();
  const tmp = await mkdtemp(join(tmpdir(), 'ossa-check-'));
  try {
    const src = join(tmp, 'kernel-driver');
    await stageDriver(src);
    // The driver's own Makefile: its include paths and compat layer.
    const r = await execa('make', ['-C', src, `KDIR=${m.kernelHeaders}`, 'W=1', 'C=1', 'modules'], {
      reject: false,
      all: true,
      env: { LC_ALL: 'C' },
    });
    const lines = String(r.all)
      .split('\n')
      .filter((l) => /warning:|error:/i.test(l))
      .map((l) => l.split(`${src}/`).join('kernel-driver/'));
    if (r.exitCode !== 0 && lines.length === 0) lines.push(`make exited with ${r.exitCode}: ${String(r.all).slice(-2000)}`);
    return lines;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * QEMU's checkpatch.pl over the device model: that of each QEMU tree the
 * build made (10.0.2's, and the newest's when built). The fixes in
 * qemu-fixes/ are checked as the patches they are.
 */
export async function qemuCheckpatch(): Promise<string[]> {
  const m = await readManifest();
  const trees = [
    { tree: m.qemuTree, version: m.qemuVersion },
    ...(m.qemuNewest ? [{ tree: m.qemuNewest.tree, version: m.qemuNewest.version }] : []),
  ];
  const out: string[] = [];
  for (const { tree, version } of trees) {
    const checkpatch = join(tree, 'scripts', 'checkpatch.pl');
    if (!existsSync(checkpatch)) {
      out.push(`${checkpatch} missing: run npm run build`);
      continue;
    }
    const run = async (args: string[], ignored: RegExp): Promise<void> => {
      const r = await execa('perl', [checkpatch, '--no-tree', '--terse', ...args], { reject: false, all: true });
      out.push(
        ...String(r.all)
          .split('\n')
          .filter((l) => /: (ERROR|WARNING):/.test(l) && !ignored.test(l))
          .map((l) => `${relative(l)} (QEMU ${version})`),
      );
    };
    // The shared register header is GPL-2.0-only OR MIT on purpose, so
    // that the kernel (GPL-2.0-only) and QEMU can both include it.
    for (const f of deviceFiles()) await run(['-f', f], /acceptable license 'GPL-2.0-only OR MIT/);
    // Kept here, not posted: a fix gets its sign-off when it is sent.
    for (const f of qemuFixes()) await run([f], /Missing Signed-off-by/);
  }
  return out;
}

/** tsc --noEmit over all the TypeScript. */
export async function typecheck(): Promise<string[]> {
  const r = await execa('npx', ['tsc', '-p', join(repoRoot, 'tsconfig.json'), '--noEmit'], {
    reject: false,
    all: true,
    cwd: repoRoot,
  });
  return String(r.all)
    .split('\n')
    .filter((l) => /error TS\d+/.test(l));
}

export const CHECKS = {
  'kernel checkpatch --strict': kernelCheckpatch,
  'kernel-doc': kernelDoc,
  'uapi constants in kernel-doc': uapiDocRendering,
  'driver W=1 + sparse': kernelBuildWarnings,
  'QEMU checkpatch': qemuCheckpatch,
  'tsc --noEmit': typecheck,
} as const;
