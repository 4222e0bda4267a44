/**
 * A function opened through UIO (bound to uio_pci_generic): BAR0 mapped
 * from sysfs (resource0), config space written through sysfs (config),
 * the legacy INTx interrupt read from /dev/uioN, and no IOMMU: the
 * arena's bus addresses are its pages' physical addresses, and the device
 * can reach any other page as well.
 *
 * uio_pci_generic masks INTx (the command register's INTx Disable) when
 * it takes an interrupt; the driver unmasks it once it has acknowledged
 * the device's cause.
 */
import { closeSync, constants as fsConstants, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { wrapNativeError } from '../errors.js';
import { native } from '../native.js';
import type { DeviceAccess } from './device-access.js';
import type { DmaArena } from './dma.js';
import { readCounter, sysCall, userDriverError } from './error.js';
import { Undo } from './undo.js';
import { OSSA_REGS_SIZE } from './hw.js';

const PCI_COMMAND = 0x04;
const PCI_COMMAND_MEMORY = 0x2;
const PCI_COMMAND_MASTER = 0x4;
const PCI_COMMAND_INTX_DISABLE = 0x400;

/** Opens `bdf`, bound to uio_pci_generic. */
export function openUio(bdf: string): DeviceAccess {
  const sys = join('/sys/bus/pci/devices', bdf);
  let uio: string | undefined;
  try {
    uio = readdirSync(join(sys, 'uio'))[0];
  } catch {
    uio = undefined;
  }
  if (!uio) throw userDriverError(`${bdf} has no UIO device: bind it to uio_pci_generic`, 'ENODEV', 'open');
  const undo = new Undo();
  try {
    const configPath = join(sys, 'config');
    const config = sysCall(() => openSync(configPath, 'r+'), 'open', configPath);
    undo.push(() => closeSync(config));
    const word = Buffer.alloc(2);
    const command = (): number => {
      sysCall(() => readSync(config, word, 0, 2, PCI_COMMAND), 'pread', configPath);
      return word.readUInt16LE();
    };
    const setCommand = (value: number): void => {
      word.writeUInt16LE(value);
      sysCall(() => writeSync(config, word, 0, 2, PCI_COMMAND), 'pwrite', configPath);
    };
    setCommand((command() | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER) & ~PCI_COMMAND_INTX_DISABLE);
    undo.push(() => setCommand(command() & ~PCI_COMMAND_MASTER));
    let resource: number;
    try {
      resource = native().open(join(sys, 'resource0'), fsConstants.O_RDWR);
    } catch (err) {
      throw wrapNativeError(err, 'open', join(sys, 'resource0'));
    }
    undo.push(() => native().close(resource));
    let bar: ArrayBuffer;
    try {
      bar = native().mmap(resource, OSSA_REGS_SIZE, 0n, true);
    } catch (err) {
      throw wrapNativeError(err, 'mmap', join(sys, 'resource0'));
    }
    undo.push(() => native().munmap(bar));
    let irq: number;
    try {
      irq = native().open(`/dev/${uio}`, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
    } catch (err) {
      throw wrapNativeError(err, 'open', `/dev/${uio}`);
    }
    undo.push(() => native().close(irq));
    const count = Buffer.alloc(4);
    // /dev/uioN reads the total of interrupts so far: a drain is the difference.
    let total: number | undefined;
    return {
      via: 'uio',
      isolated: false,
      regs: new Uint32Array(bar),
      irqFd: irq,
      attach(arena: DmaArena): void {
        arena.usePhysicalAddresses();
      },
      drainIrq(): number {
        if (!readCounter(irq, count, `/dev/${uio}`)) return 0;
        const now = count.readUInt32LE();
        const taken = total === undefined ? 1 : (now - total) >>> 0;
        total = now;
        return taken;
      },
      rearmIrq(): void {
        setCommand(command() & ~PCI_COMMAND_INTX_DISABLE);
      },
      close(): void {
        undo.run();
      },
      [Symbol.dispose](): void {
        undo.run();
      },
    };
  } catch (err) {
    undo.runQuietly();
    throw err;
  }
}
