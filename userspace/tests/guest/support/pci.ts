/**
 * The ossa device's PCI binding, through sysfs: unbind it from the driver,
 * bind it again, and choose whether its next probe may use MSI/MSI-X.
 * Only for files whose tests hold no file of the device open while they
 * unbind it (guest test files run one at a time).
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Device } from '../../../src/index.js';

const DRIVER = '/sys/bus/pci/drivers/ossa';

/** The PCI address of the (first) ossa device, e.g. 0000:00:01.0. */
export function ossaPciAddress(): string {
  using dev = Device.open();
  return dev.busId();
}

export function unbind(address: string): void {
  writeFileSync(join(DRIVER, 'unbind'), address);
}

/** Binds the device; the driver's probe runs in this call and its errno is thrown. */
export function bind(address: string): void {
  writeFileSync(join(DRIVER, 'bind'), address);
}

/**
 * Allows or disallows MSI and MSI-X for the device's next probe (the
 * function's msi_bus attribute); without them the driver gets one INTx.
 */
export function allowMsi(address: string, allow: boolean): void {
  writeFileSync(join('/sys/bus/pci/devices', address, 'msi_bus'), allow ? '1' : '0');
}

/** Whether the device's next probe may use MSI/MSI-X. */
export function msiAllowed(address: string): boolean {
  return readFileSync(join('/sys/bus/pci/devices', address, 'msi_bus'), 'utf8').trim() === '1';
}

/** PCI COMMAND register (config space offset 4) and its Bus Master Enable bit. */
const PCI_COMMAND = 4;
const PCI_COMMAND_MASTER = 0x4;

/**
 * Turns the device's bus mastering on or off behind the driver's back
 * (config space through sysfs): with it off the device can neither read
 * its rings nor send MSI/MSI-X messages.
 */
export function setBusMaster(address: string, on: boolean): void {
  const fd = openSync(join('/sys/bus/pci/devices', address, 'config'), 'r+');
  try {
    const reg = Buffer.alloc(2);
    if (readSync(fd, reg, 0, 2, PCI_COMMAND) !== 2) throw new Error(`${address}: cannot read the PCI COMMAND register`);
    const value = reg.readUInt16LE(0);
    reg.writeUInt16LE(on ? value | PCI_COMMAND_MASTER : value & ~PCI_COMMAND_MASTER, 0);
    if (writeSync(fd, reg, 0, 2, PCI_COMMAND) !== 2) throw new Error(`${address}: cannot write the PCI COMMAND register`);
  } finally {
    closeSync(fd);
  }
}
