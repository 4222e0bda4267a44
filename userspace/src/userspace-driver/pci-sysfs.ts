/**
 * A PCI function's driver, through sysfs: which ossa functions there are,
 * which driver each is bound to, and moving one to another driver
 * (driver_override, unbind, drivers_probe), as a userspace driver needs
 * before it can open the function through VFIO.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sysCall, userDriverError } from './error.js';
import { OSSA_PCI_DEVICE_ID, OSSA_PCI_VENDOR_ID } from './hw.js';

const DEVICES = '/sys/bus/pci/devices';

const hex = (path: string): number => Number.parseInt(readFileSync(path, 'utf8').trim(), 16);

/** The PCI addresses (domain:bus:dev.fn) of every ossa function. */
export function ossaFunctions(): string[] {
  if (!existsSync(DEVICES)) return [];
  return readdirSync(DEVICES)
    .filter((bdf) => hex(join(DEVICES, bdf, 'vendor')) === OSSA_PCI_VENDOR_ID && hex(join(DEVICES, bdf, 'device')) === OSSA_PCI_DEVICE_ID)
    .sort();
}

/** The driver a function is bound to, or undefined. */
export function boundDriver(bdf: string): string | undefined {
  try {
    return basename(readlinkSync(join(DEVICES, bdf, 'driver')));
  } catch {
    return undefined;
  }
}

/** The function's IOMMU group number, or undefined when it has none. */
export function iommuGroup(bdf: string): number | undefined {
  try {
    return Number(basename(readlinkSync(join(DEVICES, bdf, 'iommu_group'))));
  } catch {
    return undefined;
  }
}

function write(path: string, value: string, what: string): void {
  sysCall(() => writeFileSync(path, value), 'write', `${path} ('${value.trim()}', ${what})`);
}

/**
 * Binds a function to `driver` ('vfio-pci', 'ossa', ...), unbinding it
 * from the one it has; returns the driver it had. The driver must be
 * loaded. Fails, naming the driver, if it did not bind.
 */
export function bindDriver(bdf: string, driver: string): string | undefined {
  const dev = join(DEVICES, bdf);
  const before = boundDriver(bdf);
  if (before === driver) return before;
  // driver_override makes this driver, and only it, take the function at the next probe.
  write(join(dev, 'driver_override'), `${driver}\n`, `binding ${bdf} to ${driver}`);
  try {
    if (before) write(join(dev, 'driver', 'unbind'), bdf, `unbinding ${bdf} from ${before}`);
    write('/sys/bus/pci/drivers_probe', bdf, `probing ${bdf}`);
  } finally {
    write(join(dev, 'driver_override'), '\n', `clearing ${bdf}'s driver_override`);
  }
  const now = boundDriver(bdf);
  if (now !== driver) {
    throw userDriverError(`${bdf} did not bind to ${driver} (bound to ${now ?? 'nothing'}; the kernel log says why)`, 'ENODEV', 'bind');
  }
  return before;
}
