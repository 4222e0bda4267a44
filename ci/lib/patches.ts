/**
 * The upstream patch series, as `npm run patches` writes them to
 * out/patches/: made in a throw-away clone of each pristine tree (no
 * checkout; the cached tree is never changed), authored and signed off by
 * a placeholder the submitter replaces with their own name (README,
 * "Upstream patch series"), dated as the repository's last commit so that
 * the same sources give the same series.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitSeries, formatSeries, git, type Identity, type Patch } from './git-tree.js';
import { linuxSeries } from './linux-series.js';
import { qemuSeries } from './qemu-series.js';
import { outDir, repoRoot } from './paths.js';

/** The author and Signed-off-by: of every patch, for the submitter to replace (checkpatch wants them to match). */
export const SUBMITTER = { name: 'Your Name', email: 'your.name@example.org' };

export const PATCHES_DIR = join(outDir, 'patches');

/** The series' author: the placeholder, at the date of the repository's last commit. */
export async function seriesAuthor(): Promise<Identity> {
  const date = (await git(repoRoot, ['log', '-1', '--format=%cI'])).trim();
  return { ...SUBMITTER, date };
}

/** Commits `make(base)` in a clone of `tree` without a checkout and writes it to `dest` with its cover letter. */
async function writeSeries(
  tree: string,
  dest: string,
  make: (repo: string, base: string) => Promise<Patch[]>,
  cover: { subject: string; blurb: string },
): Promise<string[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'ossa-series-'));
  try {
    const repo = join(scratch, 'repo');
    await git(scratch, ['clone', '-q', '--shared', '--no-checkout', tree, repo]);
    const base = (await git(repo, ['rev-parse', 'HEAD'])).trim();
    const author = await seriesAuthor();
    const head = await commitSeries(repo, base, await make(repo, base), author);
    return await formatSeries(repo, base, head, dest, { ...cover, author });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The Linux series against the pristine tree `tree` (linux-source `version`), into `dest` (out/patches/linux/). */
export async function writeLinuxSeries(tree: string, version: string, dest = join(PATCHES_DIR, 'linux')): Promise<string[]> {
  const who = `${SUBMITTER.name} <${SUBMITTER.email}>`;
  return writeSeries(tree, dest, (repo, base) => linuxSeries(repo, base, who), {
    subject: 'accel/ossa: Add a driver for the ossa sample accelerator',
    blurb: `ossa, the Open-Source-userspace Sample Accelerator, is a PCI compute
accelerator that exists as a QEMU device model (hw/misc/ossa, sent to
qemu-devel as a series of its own), so that its driver can be built,
run, tested and reviewed by anyone, without hardware. It is meant as a
small, complete example of an accel driver with an open userspace.

The device has a DMA engine with two job queues, an MMU with page
tables per context, and MSI-X. Jobs are command streams (copy, fill,
CRC32C, fp32 multiply-add, fences and timestamps) in buffer objects.
The driver gives each open file a device context with its own address
space, and builds on GEM shmem, drm_sched, dma_resv and syncobjs.

The open userspace is the ossa project: a TypeScript library over this
uapi, a command-line tool, and a conformance suite that runs every
ioctl, with good and bad input, in a QEMU guest, on Debian's 6.12 and
on this kernel, and on a debug kernel with KASAN, lockdep, kmemleak and
fault injection.

The series opens with a fix to the DRM core: GET_UNIQUE and GET_MAGIC
dereference the file's DRM master, which files of accel nodes do not
have, so any user can oops the kernel through any accel node. The
uapi header, the driver and its documentation follow. It applies to
Linux ${version.replace(/-[^-]+$/, '')} (Debian's linux-source ${version}).`,
  });
}

/** The QEMU series against the pristine tree `tree` (QEMU `version`), into `dest` (out/patches/qemu/). */
export async function writeQemuSeries(tree: string, version: string, dest = join(PATCHES_DIR, 'qemu')): Promise<string[]> {
  const who = `${SUBMITTER.name} <${SUBMITTER.email}>`;
  return writeSeries(tree, dest, (repo, base) => qemuSeries(repo, base, who), {
    subject: 'Add ossa, a sample compute accelerator',
    blurb: `ossa, the Open-Source-userspace Sample Accelerator, is a PCI compute
accelerator modelled in QEMU so that its Linux driver (accel/ossa, sent
to dri-devel as a series of its own) can be run, tested and reviewed by
anyone, without hardware: a small, complete reference for accel driver
authors, and a device CI labs can boot.

The series adds the device (hw/misc/ossa), its datasheet
(docs/specs/ossa.rst), and a qtest and generic-fuzz targets. The device
has been fuzzed with generic-fuzz under ASan and UBSan, runs its own
qtest suite under ASan, and runs the driver's conformance suite in Linux
guests, behind intel-iommu and virtio-iommu too.

It applies to QEMU ${version}.`,
  });
}

/** The numbered patches of a series (not its cover letter, whose date changes), for comparing two writings of it. */
export function numberedPatches(files: string[]): string[] {
  return files.filter((f) => !/^0000-/.test(f.slice(f.lastIndexOf('/') + 1)));
}
