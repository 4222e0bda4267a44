/**
 * PCI helpers over qtest, in the manner of libqos (tests/qtest/libqos/pci.c,
 * pci-pc.c): configuration space through ports 0xcf8/0xcfc, BAR sizing and
 * assignment in q35's 32-bit PCI hole, capability walk, MSI-X (vectors
 * pointed at a guest-RAM mailbox, so a message shows up as a memory write of
 * its data), MSI and INTx.
 */
import type { QTest } from './qtest.js';

export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS_INTERRUPT = 0x8;
export const PCI_STATUS_CAP_LIST = 0x10;

export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;

export const PCI_MSIX_FLAGS = 2;
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
export const PCI_MSIX_TABLE = 4;
export const PCI_MSIX_PBA = 8;
export const PCI_MSIX_BIR = 0x7;
export const PCI_MSIX_ENTRY_SIZE = 16;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x1;

export const PCI_MSI_FLAGS = 2;
export const PCI_MSI_FLAGS_ENABLE = 0x1;
export const PCI_MSI_FLAGS_64BIT = 0x80;

export const PCI_EXP_FLAGS = 2;
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_TYPE_RC_END = 0x9;
export const PCI_EXP_DEVCAP = 4;
export const PCI_EXP_DEVCAP_FLR = 0x1000_0000;
export const PCI_EXP_DEVCTL = 8;
export const PCI_EXP_DEVCTL_BCR_FLR = 0x8000;

/** Start of the BAR window: in q35's 32-bit PCI hole, above MMCONFIG (0xb0000000, 256 MiB). */
export const BAR_WINDOW = 0xe000_0000;

export interface BarInfo {
  index: number;
  io: boolean;
  is64: boolean;
  prefetchable: boolean;
  size: number;
}

/** One PCI function on bus 0, reached through 0xcf8/0xcfc. */
export class PciFunction {
  constructor(
    readonly qt: QTest,
    readonly devfn: number,
    readonly bus = 0,
  ) {}

  get slot(): number {
    return this.devfn >> 3;
  }

  private async select(off: number): Promise<void> {
    await this.qt.outl(0xcf8, (0x8000_0000 | (this.bus << 16) | (this.devfn << 8) | (off & 0xfc)) >>> 0);
  }

  async read8(off: number): Promise<number> {
    await this.select(off);
    return this.qt.inb(0xcfc + (off & 3));
  }
  async read16(off: number): Promise<number> {
    await this.select(off);
    return this.qt.inw(0xcfc + (off & 2));
  }
  async read32(off: number): Promise<number> {
    await this.select(off);
    return (await this.qt.inl(0xcfc)) >>> 0;
  }
  async write8(off: number, v: number): Promise<void> {
    await this.select(off);
    await this.qt.outb(0xcfc + (off & 3), v);
  }
  async write16(off: number, v: number): Promise<void> {
    await this.select(off);
    await this.qt.outw(0xcfc + (off & 2), v);
  }
  async write32(off: number, v: number): Promise<void> {
    await this.select(off);
    await this.qt.outl(0xcfc, v);
  }

  /** The offsets of every capability, in list order, with their ids. */
  async capabilities(): Promise<Array<{ id: number; offset: number }>> {
    const caps: Array<{ id: number; offset: number }> = [];
    if (!((await this.read16(PCI_STATUS)) & PCI_STATUS_CAP_LIST)) return caps;
    let off = (await this.read8(PCI_CAPABILITY_LIST)) & 0xfc;
    const seen = new Set<number>();
    while (off !== 0 && !seen.has(off)) {
      seen.add(off);
      caps.push({ id: await this.read8(off), offset: off });
      off = (await this.read8(off + 1)) & 0xfc;
    }
    return caps;
  }

  /** The offset of capability `id`, or 0. */
  async findCapability(id: number): Promise<number> {
    return (await this.capabilities()).find((c) => c.id === id)?.offset ?? 0;
  }

  /** Sizes BAR `index` (restoring its value). */
  async sizeBar(index: number): Promise<BarInfo> {
    const off = PCI_BASE_ADDRESS_0 + 4 * index;
    const orig = await this.read32(off);
    const io = (orig & 1) === 1;
    const is64 = !io && ((orig >> 1) & 3) === 2;
    await this.write32(off, 0xffff_ffff);
    const lo = await this.read32(off);
    await this.write32(off, orig);
    let size: number;
    if (io) {
      size = lo === 0 ? 0 : ((~(lo & ~3) + 1) >>> 0) & 0xffff;
    } else if (is64) {
      const origHi = await this.read32(off + 4);
      await this.write32(off + 4, 0xffff_ffff);
      const hi = await this.read32(off + 4);
      await this.write32(off + 4, origHi);
      const mask = (BigInt(hi) << 32n) | BigInt(lo & ~0xf);
      size = mask === 0n ? 0 : Number(BigInt.asUintN(64, ~mask + 1n));
    } else {
      size = lo === 0 ? 0 : ((~(lo & ~0xf) + 1) >>> 0);
    }
    return { index, io, is64, prefetchable: !io && (orig & 8) !== 0, size };
  }

  /** Programs BAR `index` with `addr` (both halves of a 64-bit BAR). */
  async setBar(bar: BarInfo, addr: number): Promise<void> {
    const off = PCI_BASE_ADDRESS_0 + 4 * bar.index;
    await this.write32(off, addr >>> 0);
    if (bar.is64) await this.write32(off + 4, Math.floor(addr / 2 ** 32));
  }

  /** Reads the address a memory BAR holds. */
  async barAddress(index: number): Promise<number> {
    const off = PCI_BASE_ADDRESS_0 + 4 * index;
    const lo = await this.read32(off);
    const is64 = ((lo >> 1) & 3) === 2;
    const hi = is64 ? await this.read32(off + 4) : 0;
    return hi * 2 ** 32 + ((lo & ~0xf) >>> 0);
  }

  async setCommandBits(bits: number, on: boolean): Promise<void> {
    const cmd = await this.read16(PCI_COMMAND);
    await this.write16(PCI_COMMAND, on ? cmd | bits : cmd & ~bits);
  }

  async enableMemoryAndMaster(): Promise<void> {
    await this.setCommandBits(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, true);
  }

  async setBusMaster(on: boolean): Promise<void> {
    await this.setCommandBits(PCI_COMMAND_MASTER, on);
  }

  /** PCI status bit 3: the function's INTx is asserted. */
  async intxAsserted(): Promise<boolean> {
    return ((await this.read16(PCI_STATUS)) & PCI_STATUS_INTERRUPT) !== 0;
  }
}

/** q35's MCH (bus 0, device 0) holds PCIEXBAR, where firmware places MMCONFIG (hw/pci-host/q35.c). */
const MCH_PCIEXBAR = 0x60;
const MCH_PCIEXBAR_ENABLE = 0x1;
/** Where these tests place MMCONFIG: q35's default base, 256 buses. */
export const MMCONFIG_BASE = 0xb000_0000;

/**
 * Maps PCI Express config space at MMCONFIG_BASE, as firmware does: then
 * config registers are memory, which the device's DMA can reach too.
 */
export async function enableMmconfig(qt: QTest): Promise<void> {
  const mch = new PciFunction(qt, 0, 0);
  await mch.write32(MCH_PCIEXBAR + 4, 0);
  await mch.write32(MCH_PCIEXBAR, MMCONFIG_BASE | MCH_PCIEXBAR_ENABLE);
}

/** The bus address of config register `off` of `f` in MMCONFIG. */
export function mmconfigAddress(f: PciFunction, off: number): number {
  return MMCONFIG_BASE + f.bus * 2 ** 20 + f.devfn * 2 ** 12 + off;
}

/**
 * The 8-byte-aligned address and the 64-bit value for a FENCE that writes
 * the 16-bit `value` to the register at bus address `addr`; the other
 * bytes it writes are 0.
 */
export function fenceFor16(addr: number, value: number): { addr: number; value: bigint } {
  const at = addr - (addr % 8);
  return { addr: at, value: BigInt(value) << BigInt(8 * (addr - at)) };
}

/** Finds a function on `bus` (default 0) by vendor and device id. */
export async function findPciFunction(qt: QTest, vendor: number, device: number, bus = 0): Promise<PciFunction> {
  for (let devfn = 0; devfn < 256; devfn += 1) {
    const f = new PciFunction(qt, devfn, bus);
    const id = await f.read32(PCI_VENDOR_ID);
    if (id === ((device << 16) | vendor) >>> 0) return f;
  }
  throw new Error(`no PCI function ${vendor.toString(16)}:${device.toString(16)} on bus ${bus}`);
}

/**
 * Assigns every memory BAR of `f` an address in the window from BAR_WINDOW,
 * each aligned to its size; returns the addresses by BAR index.
 */
export async function assignBars(f: PciFunction, base = BAR_WINDOW): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  let next = base;
  for (let i = 0; i < 6; i += 1) {
    const bar = await f.sizeBar(i);
    if (bar.size > 0 && !bar.io) {
      const addr = Math.ceil(next / bar.size) * bar.size;
      await f.setBar(bar, addr);
      out.set(i, addr);
      next = addr + bar.size;
    }
    if (bar.is64) i += 1;
  }
  return out;
}

/** The vector's message data the suite programs: recognisable and distinct. */
export function msixData(vector: number): number {
  return 0x05a5_0000 + vector;
}

/**
 * The MSI-X capability of a function whose table BAR is mapped; each vector
 * is pointed at its own u32 of a guest-RAM mailbox.
 */
export class MsiX {
  private constructor(
    readonly f: PciFunction,
    readonly cap: number,
    readonly tableSize: number,
    readonly tableAddr: number,
    readonly pbaAddr: number,
    readonly mailbox: number,
  ) {}

  /** Reads the capability; `bars` maps BAR index → assigned address. */
  static async setup(f: PciFunction, bars: Map<number, number>, mailbox: number): Promise<MsiX> {
    const cap = await f.findCapability(PCI_CAP_ID_MSIX);
    if (!cap) throw new Error('no MSI-X capability');
    const flags = await f.read16(cap + PCI_MSIX_FLAGS);
    const table = await f.read32(cap + PCI_MSIX_TABLE);
    const pba = await f.read32(cap + PCI_MSIX_PBA);
    const tableBar = bars.get(table & PCI_MSIX_BIR);
    const pbaBar = bars.get(pba & PCI_MSIX_BIR);
    if (tableBar === undefined || pbaBar === undefined) throw new Error('MSI-X BAR not mapped');
    const m = new MsiX(
      f,
      cap,
      (flags & PCI_MSIX_FLAGS_QSIZE) + 1,
      tableBar + (table & ~PCI_MSIX_BIR),
      pbaBar + (pba & ~PCI_MSIX_BIR),
      mailbox,
    );
    return m;
  }

  entryAddr(v: number): number {
    return this.tableAddr + v * PCI_MSIX_ENTRY_SIZE;
  }

  /** Points every vector at the mailbox, unmasked, clears the mailbox. */
  async programAll(): Promise<void> {
    for (let v = 0; v < this.tableSize; v += 1) await this.program(v, this.mailbox + 4 * v, msixData(v));
    await this.clearMailbox();
  }

  async program(v: number, addr: number, data: number, masked = false): Promise<void> {
    const qt = this.f.qt;
    const e = this.entryAddr(v);
    await qt.writel(e, addr >>> 0);
    await qt.writel(e + 4, Math.floor(addr / 2 ** 32));
    await qt.writel(e + 8, data);
    await qt.writel(e + 12, masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
  }

  async maskVector(v: number, masked: boolean): Promise<void> {
    await this.f.qt.writel(this.entryAddr(v) + 12, masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
  }

  async setFlags(enable: boolean, functionMask = false): Promise<void> {
    const flags = await this.f.read16(this.cap + PCI_MSIX_FLAGS);
    let v = flags & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    if (enable) v |= PCI_MSIX_FLAGS_ENABLE;
    if (functionMask) v |= PCI_MSIX_FLAGS_MASKALL;
    await this.f.write16(this.cap + PCI_MSIX_FLAGS, v);
  }

  async enabled(): Promise<boolean> {
    return ((await this.f.read16(this.cap + PCI_MSIX_FLAGS)) & PCI_MSIX_FLAGS_ENABLE) !== 0;
  }

  /** The vector's PBA bit. */
  async pending(v: number): Promise<boolean> {
    const word = await this.f.qt.readl(this.pbaAddr + Math.floor(v / 32) * 4);
    return ((word >>> (v % 32)) & 1) === 1;
  }

  async clearMailbox(): Promise<void> {
    await this.f.qt.memset(this.mailbox, 4 * this.tableSize, 0);
  }

  /** Which vectors' messages arrived since the last call (and clears the mailbox). */
  async takeFired(): Promise<number[]> {
    const buf = await this.f.qt.read(this.mailbox, 4 * this.tableSize);
    const fired: number[] = [];
    for (let v = 0; v < this.tableSize; v += 1) {
      const w = buf.readUInt32LE(4 * v);
      if (w === msixData(v)) fired.push(v);
      else if (w !== 0) throw new Error(`MSI-X mailbox slot ${v} holds unexpected 0x${w.toString(16)}`);
    }
    if (fired.length) await this.clearMailbox();
    return fired;
  }
}

/** The MSI capability, when the function has one. */
export class Msi {
  private constructor(
    readonly f: PciFunction,
    readonly cap: number,
  ) {}

  static async find(f: PciFunction): Promise<Msi | undefined> {
    const cap = await f.findCapability(PCI_CAP_ID_MSI);
    return cap ? new Msi(f, cap) : undefined;
  }

  /** Programs the single message and enables MSI. */
  async enable(addr: number, data: number): Promise<void> {
    const flags = await this.f.read16(this.cap + PCI_MSI_FLAGS);
    const is64 = (flags & PCI_MSI_FLAGS_64BIT) !== 0;
    await this.f.write32(this.cap + 4, addr >>> 0);
    if (is64) {
      await this.f.write32(this.cap + 8, Math.floor(addr / 2 ** 32));
      await this.f.write16(this.cap + 12, data);
    } else {
      await this.f.write16(this.cap + 8, data);
    }
    await this.f.write16(this.cap + PCI_MSI_FLAGS, (flags & ~0x70) | PCI_MSI_FLAGS_ENABLE);
  }

  async disable(): Promise<void> {
    const flags = await this.f.read16(this.cap + PCI_MSI_FLAGS);
    await this.f.write16(this.cap + PCI_MSI_FLAGS, flags & ~PCI_MSI_FLAGS_ENABLE);
  }
}

/**
 * The IOAPIC input of INTA for a device in `slot` of q35's root bus: the
 * ICH9 LPC maps slot s, INTA to PIRQ (s mod 4) + 4 (E..H), and PIRQ n to
 * GSI 16 + n (hw/isa/lpc_ich9.c).
 */
export function q35IntaGsi(slot: number): number {
  return 16 + ((slot % 4) + 4);
}
