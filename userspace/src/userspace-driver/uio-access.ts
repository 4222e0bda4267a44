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
import { closeSync, constants, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { wrapNativeError } from '../errors.js';
import { native } from '../native.js';
import type { DeviceAccess } from './device-access.js';
import type { DmaArena } from './dma.js';
import { vfioError } from './error.js';
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
  if (!uio) throw vfioError(`${bdf} has no UIO device: bind it to uio_pci_generic`, 'ENODEV', 'open');
  const undo: Array<() => void> = [];
  try {
    const config = openSync(join(sys, 'config'), 'r+');
    undo.push(() => closeSync(config));
    const word = Buffer.alloc(2);
    const command = (): number => {
      readSync(config, word, 0, 2, PCI_COMMAND);
      return word.readUInt16LE();
    };
    const setCommand = (value: number): void => {
      word.writeUInt16LE(value);
      writeSync(config, word, 0, 2, PCI_COMMAND);
    };
    setCommand((command() | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER) & ~PCI_COMMAND_INTX_DISABLE);
    undo.push(() => setCommand(command() & ~PCI_COMMAND_MASTER));
    let resource: number;
    try {
      resource = native().open(join(sys, 'resource0'), constants.O_RDWR);
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
      irq = native().open(`/dev/${uio}`, constants.O_RDWR | constants.O_NONBLOCK);
    } catch (err) {
      throw wrapNativeError(err, 'open', `/dev/${uio}`);
    }
    undo.push(() => native().close(irq));
    const count = Buffer.alloc(4);
    return {
      via: 'uio',
      isolated: false,
      regs: new Uint32Array(bar),
      irqFd: irq,
      attach(arena: DmaArena): void {
        arena.usePhysicalAddresses();
      },
      drainIrq(): void {
        try {
          readSync(irq, count, 0, 4, null);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
      },
      rearmIrq(): void {
        setCommand(command() & ~PCI_COMMAND_INTX_DISABLE);
      },
      close(): void {
        let first: unknown;
        for (const step of undo.reverse()) {
          try {
            step();
          } catch (err) {
            first ??= err;
          }
        }
        if (first) throw first;
      },
    };
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // The first error is the one to report.
      }
    }
    throw err;
  }
}
