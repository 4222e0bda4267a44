/**
 * The Linux patch series of `npm run patches`: the fixes to the kernel's
 * core that the driver relies on (ci/lib/linux-fixes.ts), then the uapi
 * header, the driver in drivers/accel/ossa/ with its Kconfig and Makefile
 * lines, and its page in Documentation/accel/, each with its MAINTAINERS
 * lines, made against the pristine newest kernel tree (ci/lib/linux-tree.ts).
 *
 * What goes upstream is kernel-driver/ as it is, less what only builds it
 * out of tree against older kernels (Makefile, compat/) and the core's
 * fixes (linux-fixes/, which come first): its Kbuild becomes the
 * directory's Makefile, and the hardware side's register
 * header (qemu-device/ossa_regs.h) is copied in beside it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasheetRst } from './datasheet-rst.js';
import { fixPatches } from './linux-fixes.js';
import { REGS_HEADER } from './driver-source.js';
import type { Patch } from './git-tree.js';
import { git, showFile } from './git-tree.js';
import { repoRoot } from './paths.js';
import { BuildError } from './progress.js';

/** The MAINTAINERS entry's title; entries are sorted by title. */
export const MAINTAINERS_TITLE = 'DRM ACCEL DRIVER FOR OSSA SAMPLE ACCELERATOR';

/**
 * Inserts `line` among the lines that `key` gives a key for, before the
 * first whose key sorts after `ownKey` (after the last of them if none
 * does). Throws when no line has a key: the tree is not what the series
 * expects.
 */
export function insertSorted(text: string, key: (line: string) => string | undefined, ownKey: string, line: string, what: string): string {
  const lines = text.split('\n');
  let last = -1;
  for (const [i, l] of lines.entries()) {
    const k = key(l);
    if (k === undefined) continue;
    if (k === ownKey) throw new BuildError(`${what}: already has ${ownKey}`);
    if (k > ownKey) {
      lines.splice(i, 0, line);
      return lines.join('\n');
    }
    last = i;
  }
  if (last < 0) throw new BuildError(`${what}: no line to place ${ownKey} among`);
  lines.splice(last + 1, 0, line);
  return lines.join('\n');
}

/** The column a Makefile's `+=` of `obj-$(CONFIG_...)` lines starts at (tabs of 8). */
function assignColumn(makefile: string): number {
  for (const l of makefile.split('\n')) {
    const m = /^(obj-\$\(CONFIG_\w+\))(\t+)\+= /.exec(l);
    if (m) {
      const prefix = (m[1] as string).length;
      return (Math.floor(prefix / 8) + (m[2] as string).length) * 8;
    }
  }
  return 0;
}

/** `obj-$(CONFIG_X)<tabs>+= dir/`, aligned as the file's other lines are. */
export function makefileLine(makefile: string, symbol: string, dir: string): string {
  const prefix = `obj-$(CONFIG_${symbol})`;
  const column = assignColumn(makefile);
  const tabs = Math.max(1, Math.ceil((column - prefix.length) / 8));
  return `${prefix}${'\t'.repeat(column > prefix.length ? tabs : 1)}+= ${dir}/`;
}

/**
 * Adds an F: line to the MAINTAINERS entry `title` (ossa's in the kernel
 * by default), keeping its F: lines sorted after M, R, L, S, W, Q, B, C,
 * P, T and before X, N, K (checkpatch's order). `separator` follows the
 * field letter: a tab in the kernel's file, a space in QEMU's.
 */
export function addMaintainersFile(maintainers: string, path: string, title = MAINTAINERS_TITLE, separator = '\t'): string {
  const lines = maintainers.split('\n');
  const start = lines.indexOf(title);
  if (start < 0) throw new BuildError(`MAINTAINERS: no ${title} entry`);
  let end = start + 1;
  while (end < lines.length && lines[end] !== '') end += 1;
  const entry = lines.slice(start + 1, end);
  const field = `F:${separator}`;
  const files = [...entry.filter((l) => l.startsWith(field)), `${field}${path}`].sort();
  const rest = entry.filter((l) => !l.startsWith(field));
  const first = (l: string): boolean => /^[MRLSWQBCPT]:/.test(l);
  lines.splice(start + 1, end - start - 1, ...rest.filter(first), ...files, ...rest.filter((l) => !first(l)));
  return lines.join('\n');
}

/** Adds ossa's MAINTAINERS entry, sorted by title, with the one F: line `path`. */
export function addMaintainersEntry(maintainers: string, author: string, path: string): string {
  const entry = [MAINTAINERS_TITLE, `M:\t${author}`, 'L:\tdri-devel@lists.freedesktop.org', 'S:\tMaintained', 'T:\tgit https://gitlab.freedesktop.org/drm/misc/kernel.git', `F:\t${path}`, ''];
  const lines = maintainers.split('\n');
  // An entry's title is a line after an empty line, followed by a field line.
  const titles = lines.flatMap((l, i) => (i > 0 && lines[i - 1] === '' && /^[A-Z]:\t/.test(lines[i + 1] ?? '') && !/^[A-Z]:\t/.test(l) ? [i] : []));
  // Between two neighbours that bracket it; the file is sorted, not
  // perfectly, so among such pairs the one sharing the longest prefix
  // with the title (its kin: DRM ACCEL ...).
  const common = (a: string): number => {
    let n = 0;
    while (n < a.length && a[n] === MAINTAINERS_TITLE[n]) n += 1;
    return n;
  };
  let best: { at: number; score: number } | undefined;
  for (const [k, i] of titles.entries()) {
    const prev = lines[titles[k - 1] ?? -1];
    const next = lines[i] as string;
    if (prev === undefined || !(prev < MAINTAINERS_TITLE && next > MAINTAINERS_TITLE)) continue;
    const score = Math.max(common(prev), common(next));
    if (!best || score > best.score) best = { at: i, score };
  }
  if (!best) throw new BuildError(`MAINTAINERS: no two entries to place ${MAINTAINERS_TITLE} between`);
  lines.splice(best.at, 0, ...entry);
  return lines.join('\n');
}

/** The driver's page in Documentation/accel/: the uapi guide (docs/uapi.md) and the header's kernel-doc. */
export async function documentationRst(): Promise<string> {
  const markdown = await readFile(join(repoRoot, 'docs/uapi.md'), 'utf8');
  const title = /^# .+\n/;
  if (!title.test(markdown)) throw new BuildError('docs/uapi.md: does not start with its title');
  const body = datasheetRst(markdown.replace(title, '# accel/ossa Open-Source-userspace Sample Accelerator driver\n'));
  return `.. SPDX-License-Identifier: GPL-2.0-only\n\n${body}\nuapi reference\n==============\n\n.. kernel-doc:: include/uapi/drm/ossa_accel.h\n`;
}

/** The driver's files as they go into drivers/accel/ossa/. */
export async function driverFiles(): Promise<Map<string, string>> {
  const dir = join(repoRoot, 'kernel-driver');
  const files = new Map<string, string>();
  // What the repository holds there, not build products of an in-place make.
  const tracked = (await git(dir, ['ls-files', '--', '.'])).split('\n').filter((f) => /^[^/]+\.[ch]$|^Kconfig$/.test(f));
  for (const f of tracked.sort()) files.set(`drivers/accel/ossa/${f}`, await readFile(join(dir, f), 'utf8'));
  files.set('drivers/accel/ossa/Makefile', await readFile(join(dir, 'Kbuild'), 'utf8'));
  files.set('drivers/accel/ossa/ossa_regs.h', await readFile(join(repoRoot, REGS_HEADER), 'utf8'));
  return files;
}

/** The series against `base` of the pristine tree at `repo`; `author` is 'Name <mail>'. */
export async function linuxSeries(repo: string, base: string, author: string): Promise<Patch[]> {
  const maintainers0 = await showFile(repo, base, 'MAINTAINERS');
  const maintainers1 = addMaintainersEntry(maintainers0, author, 'include/uapi/drm/ossa_accel.h');
  const maintainers2 = addMaintainersFile(maintainers1, 'drivers/accel/ossa/');
  const maintainers3 = addMaintainersFile(maintainers2, 'Documentation/accel/ossa/');

  const kconfig = insertSorted(
    await showFile(repo, base, 'drivers/accel/Kconfig'),
    (l) => /^source "drivers\/accel\/([^/]+)\/Kconfig"$/.exec(l)?.[1],
    'ossa',
    'source "drivers/accel/ossa/Kconfig"',
    'drivers/accel/Kconfig',
  );
  const makefile0 = await showFile(repo, base, 'drivers/accel/Makefile');
  const makefile = insertSorted(makefile0, (l) => /^obj-\$\(CONFIG_\w+\)\s+\+= ([^/]+)\/$/.exec(l)?.[1], 'ossa', makefileLine(makefile0, 'DRM_ACCEL_OSSA', 'ossa'), 'drivers/accel/Makefile');
  const docIndex = insertSorted(
    await showFile(repo, base, 'Documentation/accel/index.rst'),
    (l) => /^ {3}([\w-]+)\/index$/.exec(l)?.[1],
    'ossa',
    '   ossa/index',
    'Documentation/accel/index.rst',
  );

  return [
    ...(await fixPatches(repo, base)),
    {
      subject: 'accel/ossa: Add the uapi header',
      body: `Add the uapi of ossa, the Open-Source-userspace Sample Accelerator: a
PCI compute accelerator modelled by QEMU's "ossa" device, with a DMA
engine, two job queues and an MMU with a page table per context.

Each open file of /dev/accel/accelN is a device context with its own
address space. Userspace creates GEM shmem buffer objects, which get a
device virtual address in the file's address space, and submits jobs:
command streams in a buffer object, with the buffers each job uses and
the binary or timeline syncobjs it waits for and signals.

Let the structures grow: every array of structures a SUBMIT points at
carries its element size, and the kernel reads each element with
copy_struct_from_user(), so that a longer element with a non-zero tail
fails with -E2BIG instead of being half understood. Take absolute
CLOCK_MONOTONIC timeouts, as the syncobj waits do, so that a wait
restarted after a signal ends when the first would have. Keep what only
tests need (fault injection, hardware context ids) in debugfs. Every
structure is 64-bit aligned, and padding, reserved fields and unknown
flags must be zero.`,
      files: new Map([
        ['include/uapi/drm/ossa_accel.h', await readFile(join(repoRoot, 'kernel-driver/include/uapi/drm/ossa_accel.h'), 'utf8')],
        ['MAINTAINERS', maintainers1],
      ]),
    },
    {
      subject: 'accel/ossa: Add a driver for the ossa sample accelerator',
      body: `Add the driver of the ossa device: GEM shmem buffer objects mapped into
a per-file device address space, jobs run by drm_sched on the device's
two hardware queues, dma_resv implicit sync and syncobjs, dma-buf import
and export, a job timeout that stops one queue and bans the context
that hung it, a device reset that runs no job twice, and debugfs.

The device is QEMU's "ossa" (hw/misc/ossa), so the driver can be run
and tested by anyone: its open userspace, a TypeScript library with a
command-line tool and a conformance suite that runs every ioctl, boots
the driver in a QEMU guest on every change.`,
      files: new Map([...(await driverFiles()), ['drivers/accel/Kconfig', kconfig], ['drivers/accel/Makefile', makefile], ['MAINTAINERS', maintainers2]]),
    },
    {
      subject: 'Documentation/accel: Add the ossa driver',
      body: `Describe the ossa driver's model, recovery, unplug and each ioctl with
its errors, followed by the uapi header's kernel-doc.`,
      files: new Map([
        ['Documentation/accel/ossa/index.rst', await documentationRst()],
        ['Documentation/accel/index.rst', docIndex],
        ['MAINTAINERS', maintainers3],
      ]),
    },
  ];
}
