/**
 * Handing the ossa function from its kernel driver to a userspace driver
 * and back, in the guest: the modules the image carries for it
 * (/etc/ossa/userspace-driver-modules) loaded with insmod, the function
 * bound to vfio-pci where it has an IOMMU group, else to uio_pci_generic.
 * Used by the userspace-driver test and by the benchmark.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { bindDriver, iommuGroup } from '../../../src/userspace-driver/index.js';

const run = promisify(execFile);

/** What the lane put in front of the device (ossa.iommu= on the kernel's command line): 'none', 'intel' or 'virtio'. */
export const laneIommu = /(?:^|\s)ossa\.iommu=(\w+)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1] ?? 'none';

export const MODULE_LIST = '/etc/ossa/userspace-driver-modules';
const listed = existsSync(MODULE_LIST) ? readFileSync(MODULE_LIST, 'utf8').split('\n').filter(Boolean) : [];
const moduleName = (file: string): string => file.replace(/\.ko$/, '').replace(/-/g, '_');

/** The modules a model needs that the guest has neither loaded nor listed. */
export function missingModules(via: 'vfio' | 'uio'): string[] {
  const wanted = via === 'vfio' ? ['vfio_pci', 'vfio_iommu_type1'] : ['uio_pci_generic'];
  return wanted.filter((m) => !listed.some((f) => moduleName(f) === m) && !existsSync(`/sys/module/${m}`));
}

/** Loads the listed modules a model needs, dependencies first (the list's order). */
async function loadModules(via: 'vfio' | 'uio'): Promise<void> {
  for (const file of listed) {
    const name = moduleName(file);
    if (existsSync(`/sys/module/${name}`) || name.startsWith('uio') !== (via === 'uio')) continue;
    // QEMU's vIOMMUs remap no interrupts here: without this, type1 refuses
    // the group (EPERM). DMA isolation is not affected.
    const params = name === 'vfio_iommu_type1' ? ['allow_unsafe_interrupts=1'] : [];
    await run('insmod', [`/lib/modules/${file}`, ...params]);
  }
}

/**
 * Takes the function from the kernel driver and gives it to VFIO when the
 * machine has an IOMMU for it, else to UIO: the machine decides, not the
 * lane, so that a lane whose vIOMMU is missing is caught by what follows.
 */
export async function handToUserspace(bdf: string): Promise<'vfio' | 'uio'> {
  const via = iommuGroup(bdf) !== undefined ? 'vfio' : 'uio';
  await loadModules(via);
  bindDriver(bdf, via === 'vfio' ? 'vfio-pci' : 'uio_pci_generic');
  return via;
}

/** Gives the function back to ossa, and waits for its node. */
export async function giveBackToKernel(bdf: string): Promise<void> {
  bindDriver(bdf, 'ossa');
  for (let i = 0; i < 100 && !readdirSync('/dev/accel').some((n) => /^accel\d+$/.test(n)); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
}
