/** Datasheet sections 2 (PCI identity) and 3 (BARs). */
import { describe, expect, test } from 'vitest';
import { useOssa } from './harness.js';
import {
  findPciFunction,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_CLASS_PROG,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_DEVICE_ID,
  PCI_EXP_DEVCAP,
  PCI_EXP_DEVCAP_FLR,
  PCI_EXP_FLAGS,
  PCI_EXP_TYPE_ENDPOINT,
  PCI_EXP_TYPE_RC_END,
  PCI_HEADER_TYPE,
  PCI_INTERRUPT_PIN,
  PCI_MSIX_BIR,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_QSIZE,
  PCI_MSIX_PBA,
  PCI_MSI_FLAGS,
  PCI_MSIX_TABLE,
  PCI_REVISION_ID,
  PCI_VENDOR_ID,
} from './pci.js';
import { QTest } from './qtest.js';
import { R } from './regs.js';

describe('2. PCI identity', () => {
  const dev = useOssa({ freshEachTest: false });

  test('vendor ID 0x1234 and device ID 0x0a55, on bus 0', async () => {
    const f = dev().pci;
    expect(f.bus).toBe(0);
    expect(await f.read16(PCI_VENDOR_ID)).toBe(0x1234);
    expect(await f.read16(PCI_DEVICE_ID)).toBe(0x0a55);
    expect(R.PCI_VENDOR_ID).toBe(0x1234);
    expect(R.PCI_DEVICE_ID).toBe(0x0a55);
  });

  test('revision 0x01', async () => {
    expect(await dev().pci.read8(PCI_REVISION_ID)).toBe(0x01);
  });

  test('class code 0x12 00 00 (processing accelerator)', async () => {
    const v = (await dev().pci.read32(PCI_REVISION_ID)) >>> 8;
    expect(v).toBe(0x12_00_00);
    expect(await dev().pci.read8(PCI_CLASS_PROG)).toBe(0);
  });

  test('a type 0 header, single function', async () => {
    expect((await dev().pci.read8(PCI_HEADER_TYPE)) & 0x7f).toBe(0);
  });

  test('interrupt pin INTA', async () => {
    expect(await dev().pci.read8(PCI_INTERRUPT_PIN)).toBe(1);
  });

  test('MSI-X capability with 3 vectors, table and PBA in BAR4', async () => {
    const f = dev().pci;
    const cap = await f.findCapability(PCI_CAP_ID_MSIX);
    expect(cap).not.toBe(0);
    expect(((await f.read16(cap + PCI_MSIX_FLAGS)) & PCI_MSIX_FLAGS_QSIZE) + 1).toBe(3);
    expect((await f.read32(cap + PCI_MSIX_TABLE)) & PCI_MSIX_BIR).toBe(R.BAR_MSIX);
    expect((await f.read32(cap + PCI_MSIX_PBA)) & PCI_MSIX_BIR).toBe(R.BAR_MSIX);
    expect(R.MSIX_VECTORS).toBe(3);
  });

  test('MSI capability with 1 vector', async () => {
    const f = dev().pci;
    const cap = await f.findCapability(PCI_CAP_ID_MSI);
    expect(cap, 'MSI capability (id 0x05) present').not.toBe(0);
    const flags = await f.read16(cap + PCI_MSI_FLAGS);
    expect((flags >> 1) & 7, 'Multiple Message Capable: 1 vector').toBe(0);
  });

  test('PCI Express endpoint capability advertising FLR', async () => {
    const f = dev().pci;
    const cap = await f.findCapability(PCI_CAP_ID_EXP);
    expect(cap, 'PCI Express capability (id 0x10) present').not.toBe(0);
    const type = ((await f.read16(cap + PCI_EXP_FLAGS)) >> 4) & 0xf;
    // an endpoint: PCI Express Endpoint (0), or Root Complex Integrated Endpoint (9) on q35's root bus
    expect([PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_RC_END]).toContain(type);
    expect((await f.read32(cap + PCI_EXP_DEVCAP)) & PCI_EXP_DEVCAP_FLR).toBe(PCI_EXP_DEVCAP_FLR);
  });

  test('exactly these capabilities: MSI-X, MSI and PCI Express', async () => {
    const ids = (await dev().pci.capabilities()).map((c) => c.id).sort((a, b) => a - b);
    expect(ids).toEqual([PCI_CAP_ID_MSI, PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX]);
  });
});

describe('2. PCI identity with msix=off (an MSI-only function)', () => {
  test('no MSI-X capability and no BAR4; MSI and PCI Express as ever', async () => {
    await using qt = await QTest.start({ deviceOptions: 'msix=off' });
    const f = await findPciFunction(qt, R.PCI_VENDOR_ID, R.PCI_DEVICE_ID);
    const ids = (await f.capabilities()).map((c) => c.id).sort((a, b) => a - b);
    expect(ids).toEqual([PCI_CAP_ID_MSI, PCI_CAP_ID_EXP]);
    expect((await f.sizeBar(R.BAR_MSIX)).size).toBe(0);
    expect((await f.sizeBar(R.BAR_REGS)).size).toBe(R.REGS_SIZE);
  });
});

describe('3. BARs', () => {
  const dev = useOssa({ freshEachTest: false });

  test('BAR0: 64-bit memory, non-prefetchable, 4 KiB (registers)', async () => {
    const bar = await dev().pci.sizeBar(R.BAR_REGS);
    expect(bar).toMatchObject({ io: false, is64: true, prefetchable: false, size: R.REGS_SIZE });
    expect(R.REGS_SIZE).toBe(4096);
  });

  test('BAR4: 32-bit memory, 4 KiB (MSI-X table and PBA)', async () => {
    const bar = await dev().pci.sizeBar(R.BAR_MSIX);
    expect(bar).toMatchObject({ io: false, is64: false, size: 4096 });
  });

  test('BARs 2 and 3 are not implemented', async () => {
    expect((await dev().pci.sizeBar(2)).size).toBe(0);
    expect((await dev().pci.sizeBar(3)).size).toBe(0);
  });

  test('BAR0 decodes the registers where it is placed, only while memory space is enabled', async () => {
    const d = dev();
    expect(await d.read(R.REG_ID)).toBe(R.ID_MAGIC);
    const cmd = await d.pci.read16(PCI_COMMAND);
    await d.pci.write16(PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    expect(await d.read(R.REG_ID)).not.toBe(R.ID_MAGIC);
    await d.pci.write16(PCI_COMMAND, cmd);
    expect(await d.read(R.REG_ID)).toBe(R.ID_MAGIC);
    expect(cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).toBe(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  });

  test('BAR0 can be moved', async () => {
    const d = dev();
    const bar = await d.pci.sizeBar(R.BAR_REGS);
    const moved = 0xe080_0000;
    await d.pci.setBar(bar, moved);
    try {
      expect(await d.qt.readl(moved + R.REG_ID)).toBe(R.ID_MAGIC);
      expect(await d.pci.barAddress(R.BAR_REGS)).toBe(moved);
    } finally {
      await d.pci.setBar(bar, d.bar0);
    }
    expect(await d.read(R.REG_VERSION)).toBe(R.VERSION_VALUE);
  });
});
