/**
 * Handing the ossa function from its kernel driver to a userspace driver
 * and back, in the guest: the modules the image carries for each model
 * (/etc/ossa/vfio-modules, /etc/ossa/uio-modules) loaded with insmod, the
 * function bound to vfio-pci where it has an IOMMU group, else to
 * uio_pci_generic. Used by the userspace-driver test and by the benchmark.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bindDriver, iommuGroup } from '../../../src/userspace-driver/index.js';

const run = promisify(execFile);

export type Model = 'vfio' | 'uio';

/** What the lane put in front of the device (ossa.iommu= on the kernel's command line): 'none', 'intel' or 'virtio'. */
export const laneIommu = /(?:^|\s)ossa\.iommu=(\w+)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1] ?? 'none';

export const moduleList = (model: Model): string => `/etc/ossa/${model}-modules`;
const listed = (model: Model): string[] =>
  existsSync(moduleList(model)) ? readFileSync(moduleList(model), 'utf8').split('\n').filter(Boolean) : [];
const moduleName = (file: string): string => file.replace(/\.ko$/, '').replace(/-/g, '_');

/** The modules a model needs that the guest has neither loaded nor listed. */
export function missingModules(model: Model): string[] {
  const wanted = model === 'vfio' ? ['vfio_pci', 'vfio_iommu_type1'] : ['uio_pci_generic'];
  return wanted.filter((m) => !listed(model).some((f) => moduleName(f) === m) && !existsSync(`/sys/module/${m}`));
}

/** Loads a model's listed modules, dependencies first (the list's order). */
async function loadModules(model: Model): Promise<void> {
  for (const file of listed(model)) {
    if (!existsSync(`/sys/module/${moduleName(file)}`)) await run('insmod', [`/lib/modules/${file}`]);
  }
}

/**
 * Takes the function from the kernel driver and gives it to VFIO when the
 * machine has an IOMMU for it, else to UIO: the machine decides, not the
 * lane, so that a lane whose vIOMMU is missing is caught by what follows.
 */
export async function handToUserspace(bdf: string): Promise<Model> {
  const model = iommuGroup(bdf) !== undefined ? 'vfio' : 'uio';
  await loadModules(model);
  bindDriver(bdf, model === 'vfio' ? 'vfio-pci' : 'uio_pci_generic');
  return model;
}

/** Gives the function back to ossa, and waits (5 s at most) for its accel node. */
export async function giveBackToKernel(bdf: string): Promise<void> {
  bindDriver(bdf, 'ossa');
  const nodes = join('/sys/bus/pci/devices', bdf, 'accel');
  for (let i = 0; i < 100; i++) {
    const node = existsSync(nodes) ? readdirSync(nodes).find((n) => /^accel\d+$/.test(n)) : undefined;
    if (node && existsSync(join('/dev/accel', node))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${bdf} is bound to ossa again, but no /dev/accel node of it appeared within 5 s`);
}
