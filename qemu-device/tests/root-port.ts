/**
 * A PCI Express root port on q35's bus 0 with native hot-plug, for putting
 * the device on a hot-pluggable slot: set up as firmware would (bus numbers,
 * a memory window over the BAR window) and driven as a guest's pciehp would
 * (power the slot off to complete a removal: hw/pci/pcie.c,
 * pcie_cap_slot_write_config).
 */
import { assignBars, BAR_WINDOW, findPciFunction, PCI_CAP_ID_EXP, type PciFunction } from './pci.js';
import type { QTest } from './qtest.js';

/** QEMU's generic root port (hw/pci-bridge/gen_pcie_root_port.c): Red Hat's vendor ID. */
const ROOT_PORT_VENDOR_ID = 0x1b36;
const ROOT_PORT_DEVICE_ID = 0x000c;

export const ROOT_PORT_ID = 'rp0';
/** The bus behind the root port. */
export const ROOT_PORT_SECONDARY_BUS = 1;

/**
 * QEMU arguments for a root port with native hot-plug: q35 otherwise hides
 * the slot's hot-plug capability and hot-plugs through ACPI.
 */
export const ROOT_PORT_ARGS = [
  '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
  '-device', `pcie-root-port,id=${ROOT_PORT_ID},bus=pcie.0,chassis=1,slot=1`,
];

/** Where the root port's own BAR (its MSI-X table) goes: on bus 0, above the window it forwards. */
const ROOT_PORT_BAR_BASE = BAR_WINDOW + 0x100_0000;

// Type 1 header (include/standard-headers/linux/pci_regs.h).
const PCI_PRIMARY_BUS = 0x18;
const PCI_SECONDARY_BUS = 0x19;
const PCI_SUBORDINATE_BUS = 0x1a;
const PCI_MEMORY_BASE = 0x20;
const PCI_MEMORY_LIMIT = 0x22;
/** Memory base/limit registers hold address bits 31:20 in their bits 15:4. */
const PCI_MEMORY_RANGE_MASK = 0xfff0;

// PCI Express capability, slot registers.
const PCI_EXP_SLTCAP = 0x14;
const PCI_EXP_SLTCAP_HPC = 0x40;
const PCI_EXP_SLTCTL = 0x18;
const PCI_EXP_SLTCTL_PIC = 0x300;
const PCI_EXP_SLTCTL_PWR_IND_OFF = 0x300;
const PCI_EXP_SLTCTL_PCC = 0x400;
const PCI_EXP_SLTCTL_PWR_OFF = 0x400;
const PCI_EXP_SLTSTA = 0x1a;
const PCI_EXP_SLTSTA_ABP = 0x1;
const PCI_EXP_SLTSTA_PDS = 0x40;

export class RootPort {
  private constructor(
    readonly f: PciFunction,
    private readonly exp: number,
  ) {}

  /**
   * Finds the root port, gives it bus numbers and a 1 MiB memory window at
   * BAR_WINDOW (where the device's BARs are assigned), enables it.
   */
  static async setup(qt: QTest): Promise<RootPort> {
    const f = await findPciFunction(qt, ROOT_PORT_VENDOR_ID, ROOT_PORT_DEVICE_ID);
    await assignBars(f, ROOT_PORT_BAR_BASE);
    await f.write8(PCI_PRIMARY_BUS, 0);
    await f.write8(PCI_SECONDARY_BUS, ROOT_PORT_SECONDARY_BUS);
    await f.write8(PCI_SUBORDINATE_BUS, ROOT_PORT_SECONDARY_BUS);
    const window = (BAR_WINDOW >>> 16) & PCI_MEMORY_RANGE_MASK;
    await f.write16(PCI_MEMORY_BASE, window);
    await f.write16(PCI_MEMORY_LIMIT, window);
    await f.enableMemoryAndMaster();
    const exp = await f.findCapability(PCI_CAP_ID_EXP);
    if (!exp) throw new Error('root port without a PCI Express capability');
    return new RootPort(f, exp);
  }

  /** Slot capability: hot-plug capable (native). */
  async hotplugCapable(): Promise<boolean> {
    return ((await this.f.read32(this.exp + PCI_EXP_SLTCAP)) & PCI_EXP_SLTCAP_HPC) !== 0;
  }

  /** Slot status: a device is present. */
  async presenceDetected(): Promise<boolean> {
    return ((await this.f.read16(this.exp + PCI_EXP_SLTSTA)) & PCI_EXP_SLTSTA_PDS) !== 0;
  }

  /** Slot status: the attention button was pressed (what `device_del` does to a powered slot). */
  async attentionButtonPressed(): Promise<boolean> {
    return ((await this.f.read16(this.exp + PCI_EXP_SLTSTA)) & PCI_EXP_SLTSTA_ABP) !== 0;
  }

  /**
   * The config offset of Slot Control and the value pciehp writes there on
   * the button (power indicator off, slot power off); QEMU then removes
   * the device.
   */
  async powerOffWrite(): Promise<{ offset: number; value: number }> {
    const ctl = await this.f.read16(this.exp + PCI_EXP_SLTCTL);
    return {
      offset: this.exp + PCI_EXP_SLTCTL,
      value: (ctl & ~(PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_PCC)) | PCI_EXP_SLTCTL_PWR_IND_OFF | PCI_EXP_SLTCTL_PWR_OFF,
    };
  }

  /** What pciehp does on the button (powerOffWrite()), through config cycles. */
  async powerOff(): Promise<void> {
    const { offset, value } = await this.powerOffWrite();
    await this.f.write16(offset, value);
  }
}
