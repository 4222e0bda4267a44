/**
 * The QEMU patch series of `npm run patches`: the device in hw/misc/ossa/
 * with its Kconfig, meson and trace lines; its datasheet as
 * docs/specs/ossa.rst; its qtest and generic-fuzz targets; each with its
 * MAINTAINERS lines, made against the pristine newest QEMU tree
 * (ci/lib/qemu-tree.ts). The newest QEMU is built from this series
 * (ci/build.ts), so what is sent is what the guest suite runs on.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasheetRst } from './datasheet-rst.js';
import { git, type Patch, showFile } from './git-tree.js';
import { addMaintainersFile } from './linux-series.js';
import { repoRoot } from './paths.js';
import { BuildError } from './progress.js';

/** What the series is made from, as cache inputs of a build of it. */
export const QEMU_SERIES_INPUTS = ['qemu-device/tests/ossa-test.c', 'docs/hardware.md', 'ci/lib/qemu-series.ts', 'ci/lib/qemu-tree.ts', 'ci/lib/datasheet-rst.ts', 'ci/lib/git-tree.ts', 'ci/lib/patches.ts'];

const MAINTAINERS_TITLE = 'OSSA SAMPLE ACCELERATOR';

/**
 * Why ossa_regs.h is not GPL-2.0-or-later, as QEMU's checkpatch asks a
 * patch to say (it warns about any other licence, explained or not).
 */
export const REGS_LICENCE_NOTE = `hw/misc/ossa/ossa_regs.h is GPL-2.0-only OR MIT: it is the hardware
interface, shared as is with the Linux driver (drivers/accel/ossa), and
MIT lets userspace drivers of the device use it too. The other files are
GPL-2.0-or-later.`;

/** qemu-device/'s files that say how this project builds QEMU, not what goes upstream. */
const BUILD_ONLY = new Set(['build-qemu.sh', 'x86_64-devices.mak']);

/**
 * The device's files as they go into hw/misc/ossa/: what the repository
 * holds in qemu-device/, less how this project builds QEMU (the build script
 * and its device list) and the tests.
 */
export async function deviceFiles(): Promise<Map<string, string>> {
  const dir = join(repoRoot, 'qemu-device');
  const tracked = (await git(dir, ['ls-files', '--', '.'])).split('\n').filter((f) => f && !f.includes('/') && !BUILD_ONLY.has(f));
  const files = new Map<string, string>();
  for (const f of tracked.sort()) files.set(`hw/misc/ossa/${f}`, await readFile(join(dir, f), 'utf8'));
  if (!files.has('hw/misc/ossa/ossa.c')) throw new BuildError('qemu-device/: ossa.c is not in the repository');
  return files;
}

/** Inserts `insert` after the first line equal to `after`. */
function insertAfterLine(text: string, after: string, insert: string, what: string): string {
  const lines = text.split('\n');
  const i = lines.indexOf(after);
  if (i < 0) throw new BuildError(`${what}: no line ${JSON.stringify(after)} to add after`);
  lines.splice(i + 1, 0, insert);
  return lines.join('\n');
}

/** The MAINTAINERS entry, after EDU's: the other test device of hw/misc. */
function addMaintainersEntry(maintainers: string, author: string, path: string): string {
  const lines = maintainers.split('\n');
  const edu = lines.indexOf('EDU');
  if (edu < 0) throw new BuildError('MAINTAINERS: no EDU entry to place the ossa entry after');
  let end = edu + 1;
  while (end < lines.length && lines[end] !== '') end += 1;
  lines.splice(end + 1, 0, MAINTAINERS_TITLE, `M: ${author}`, 'S: Maintained', `F: ${path}`, '');
  return lines.join('\n');
}

/** The generic-fuzz targets: the device with MSI-X, and as a function without it. */
const FUZZ_CONFIGS = `    },{
        .name = "ossa",
        .args = "-machine q35 -nodefaults -device ossa,fault-injection=on",
        .objects = "ossa*",
    },{
        .name = "ossa-msi",
        .args = "-machine q35 -nodefaults "
        "-device ossa,fault-injection=on,msix=off",
        .objects = "ossa*",
    }
};`;

/** The series against `base` of the pristine tree at `repo`; `author` is 'Name <mail>'. */
export async function qemuSeries(repo: string, base: string, author: string): Promise<Patch[]> {
  const maintainers0 = await showFile(repo, base, 'MAINTAINERS');
  const maintainers1 = addMaintainersEntry(maintainers0, author, 'hw/misc/ossa/');
  const maintainers2 = addMaintainersFile(maintainers1, 'docs/specs/ossa.rst', MAINTAINERS_TITLE, ' ');
  const maintainers3 = addMaintainersFile(maintainers2, 'tests/qtest/ossa-test.c', MAINTAINERS_TITLE, ' ');

  const kconfig = insertAfterLine(await showFile(repo, base, 'hw/misc/Kconfig'), 'source macio/Kconfig', 'source ossa/Kconfig', 'hw/misc/Kconfig');
  const miscMeson = insertAfterLine(await showFile(repo, base, 'hw/misc/meson.build'), "subdir('macio')", "subdir('ossa')", 'hw/misc/meson.build');
  const topMeson = insertAfterLine(await showFile(repo, base, 'meson.build'), "    'hw/misc/macio',", "    'hw/misc/ossa',", 'meson.build');

  const specsIndex = await showFile(repo, base, 'docs/specs/index.rst');
  if (!/\n {3}\S+\n$/.test(specsIndex)) throw new BuildError('docs/specs/index.rst: does not end with its toctree entries');
  const spec = `.. SPDX-License-Identifier: GPL-2.0-or-later\n\n${datasheetRst(await readFile(join(repoRoot, 'docs/hardware.md'), 'utf8'))}`;

  const qtestMeson = await showFile(repo, base, 'tests/qtest/meson.build');
  const pvpanic = qtestMeson.split('\n').find((l) => l.includes("['pvpanic-pci-test']"));
  if (!pvpanic) throw new BuildError("tests/qtest/meson.build: no pvpanic-pci-test line in qtests_i386 to add ossa-test after");
  const ossaLine = "  (config_all_devices.has_key('CONFIG_OSSA') ? ['ossa-test'] : []) +";
  const qtests = insertAfterLine(qtestMeson, pvpanic, `${ossaLine.padEnd(pvpanic.lastIndexOf('\\'))}\\`, 'tests/qtest/meson.build');
  const configs0 = await showFile(repo, base, 'tests/qtest/fuzz/generic_fuzz_configs.h');
  if (!/\n {4}\}\n\};\n/.test(configs0)) throw new BuildError('tests/qtest/fuzz/generic_fuzz_configs.h: predefined_configs does not end as expected');
  const configs = configs0.replace(/\n {4}\}\n\};\n/, `\n${FUZZ_CONFIGS}\n`);

  return [
    {
      subject: 'hw/misc: Add ossa, a sample compute accelerator',
      body: `ossa, the Open-Source-userspace Sample Accelerator, is a PCI compute
accelerator made to be driven by an upstream kernel driver (accel/ossa)
with an open userspace, and tested in guests by anyone: a reference for
accel driver authors, and a device for CI labs to boot.

It has two job queues with rings of 64-byte descriptors, a device MMU
with three-level page tables for 64 contexts, seven commands (NOP, COPY,
FILL, CRC32C, FMA_F32, FENCE, TIMESTAMP), MSI-X with three vectors, MSI
and INTx, soft reset and FLR, migration, and registers to inject hangs,
failures, delays and faults for driver tests (fault-injection=on). A
dma-bits property narrows its DMA engine.

Jobs run in slices from a bottom half, guarded against re-entry, with
every DMA through the PCI address space and every guest-given index and
offset checked, on load too.

${REGS_LICENCE_NOTE}`,
      files: new Map([
        ...(await deviceFiles()),
        ['hw/misc/Kconfig', kconfig],
        ['hw/misc/meson.build', miscMeson],
        ['meson.build', topMeson],
        ['MAINTAINERS', maintainers1],
      ]),
    },
    {
      subject: 'docs/specs: Add the ossa datasheet',
      body: `The programming interface of the ossa device: PCI identity, registers,
queues and job descriptors, commands, the device MMU and its faults,
interrupts, DMA ordering, reset, limits and fault injection.`,
      files: new Map([
        ['docs/specs/ossa.rst', spec],
        ['docs/specs/index.rst', `${specsIndex}   ossa\n`],
        ['MAINTAINERS', maintainers2],
      ]),
    },
    {
      subject: 'tests/qtest: Add a test and generic-fuzz targets for ossa',
      body: `Check the device's identity and registers, a soft reset, a FILL job run
through a queue, a context and the device MMU, and the fault of a job
that writes outside its context's mappings. Add generic-fuzz targets for
the device with MSI-X (ossa) and without it (ossa-msi), fault injection
on.`,
      files: new Map([
        ['tests/qtest/ossa-test.c', await readFile(join(repoRoot, 'qemu-device/tests/ossa-test.c'), 'utf8')],
        ['tests/qtest/meson.build', qtests],
        ['tests/qtest/fuzz/generic_fuzz_configs.h', configs],
        ['MAINTAINERS', maintainers3],
      ]),
    },
  ];
}
