/** Datasheet section 10: soft reset, FLR and PCI reset. */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Ossa } from './device.js';
import { hex, logCount, pollUntil, useOssa, waitQueueError } from './harness.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_CAP_ID_EXP,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_EXP_DEVCAP,
  PCI_EXP_DEVCAP_FLR,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_BCR_FLR,
  enableMmconfig,
  fenceFor16,
  mmconfigAddress,
} from './pci.js';
import { R } from './regs.js';

const DELAY = 77;
const FAULT_LO = 0x5000_1001;
const FAULT_HI = 0x12;

/** Puts every resettable register in a non-reset state. */
async function dirtyEverything(d: Ossa): Promise<void> {
  const ctx = await d.context(3);
  const other = await d.context(40);
  const q0 = await d.queue(0, 2);
  await q0.submit(await ctx.job(cmd.nop(), { flags: R.DESC_FLAG_IRQ }), await other.job(cmd.nop()));
  await q0.waitHead(2);
  expect((await d.run(ctx, [cmd.fence(ctx.reserve(8), 1n)])).status).toBe(R.JOB_MMU_FAULT);
  expect((await d.run(other, [cmd.fence(other.reserve(8), 1n)])).status).toBe(R.JOB_MMU_FAULT);
  await d.writeQ(1, R.REG_Q_BASE_LO, 0x1234_5640);
  await d.writeQ(1, R.REG_Q_BASE_HI, 0x1);
  await d.writeQ(1, R.REG_Q_SIZE, 13);
  await d.writeQ(1, R.REG_Q_CONTROL, 1); // BAD_RING
  await waitQueueError(d, 1);
  await d.write(R.REG_SCRATCH, 0xdead_beef);
  await d.write(R.REG_IRQ_MASK, R.IRQ_MMU_FAULT);
  await d.write(R.REG_INJECT_HANG, 3);
  await d.write(R.REG_INJECT_FAIL, 1);
  await d.write(R.REG_INJECT_DELAY_US, DELAY);
  await d.write(R.REG_INJECT_FAULT_LO, FAULT_LO);
  await d.write(R.REG_INJECT_FAULT_HI, FAULT_HI);
  // all dirty
  for (const off of [R.REG_SCRATCH, R.REG_IRQ_STATUS, R.REG_IRQ_MASK, R.REG_CTX_TABLE_LO, R.REG_CTX_STOPPED_LO, R.REG_CTX_STOPPED_HI,
    R.REG_FAULT_ADDR_LO, R.REG_FAULT_INFO, R.REG_FAULT_COUNT, R.REG_INJECT_HANG, R.REG_INJECT_FAIL]) {
    expect(await d.read(off), `${hex(off)} dirty`).not.toBe(0);
  }
  expect(await d.readQ(0, R.REG_Q_HEAD)).not.toBe(0);
  expect(await d.readQ(1, R.REG_Q_STATUS)).not.toBe(0);
}

/** Every register of sections 4 and 5 at its reset value; injection settings as section 10 says. */
async function expectResetState(d: Ossa): Promise<void> {
  const want: Array<[string, number, number]> = [
    ['ID', R.REG_ID, R.ID_MAGIC],
    ['VERSION', R.REG_VERSION, R.VERSION_VALUE],
    ['SCRATCH', R.REG_SCRATCH, 0],
    ['IRQ_STATUS', R.REG_IRQ_STATUS, 0],
    ['IRQ_MASK', R.REG_IRQ_MASK, 0],
    ['CTX_TABLE_LO', R.REG_CTX_TABLE_LO, 0],
    ['CTX_TABLE_HI', R.REG_CTX_TABLE_HI, 0],
    ['CTX_STOPPED_LO', R.REG_CTX_STOPPED_LO, 0],
    ['CTX_STOPPED_HI', R.REG_CTX_STOPPED_HI, 0],
    ['FAULT_ADDR_LO', R.REG_FAULT_ADDR_LO, 0],
    ['FAULT_ADDR_HI', R.REG_FAULT_ADDR_HI, 0],
    ['FAULT_INFO', R.REG_FAULT_INFO, 0],
    ['FAULT_COUNT', R.REG_FAULT_COUNT, 0],
    ['INJECT_HANG (cleared)', R.REG_INJECT_HANG, 0],
    ['INJECT_FAIL (cleared)', R.REG_INJECT_FAIL, 0],
    ['INJECT_DELAY_US (kept)', R.REG_INJECT_DELAY_US, DELAY],
    ['INJECT_FAULT_LO (kept)', R.REG_INJECT_FAULT_LO, FAULT_LO],
    ['INJECT_FAULT_HI (kept)', R.REG_INJECT_FAULT_HI, FAULT_HI],
  ];
  for (let q = 0; q < 2; q += 1) {
    for (const [name, off] of [
      ['Q_BASE_LO', R.REG_Q_BASE_LO], ['Q_BASE_HI', R.REG_Q_BASE_HI], ['Q_SIZE', R.REG_Q_SIZE], ['Q_CONTROL', R.REG_Q_CONTROL],
      ['Q_TAIL', R.REG_Q_TAIL], ['Q_HEAD', R.REG_Q_HEAD], ['Q_STATUS', R.REG_Q_STATUS],
    ] as const) {
      want.push([`queue ${q} ${name}`, R.REG_QUEUE(q) + off, 0]);
    }
  }
  const got: Record<string, string> = {};
  const expected: Record<string, string> = {};
  for (const [name, off, v] of want) {
    got[name] = hex(await d.read(off));
    expected[name] = hex(v);
  }
  expect(got).toEqual(expected);
}

describe('10. soft reset', () => {
  const dev = useOssa();

  test('RESET magic 0x54455352 returns every register to its reset value, at once; keeps INJECT_DELAY_US and INJECT_FAULT', async () => {
    const d = dev();
    await dirtyEverything(d);
    await d.write(R.REG_RESET, 0x54455352);
    await expectResetState(d);
    expect(R.RESET_MAGIC).toBe(0x54455352);
  });

  test.each([
    ['0', 0],
    ['0x52455354 (bytes reversed)', 0x5245_5354],
    ['0x54455353', 0x5445_5353],
    ['0xffffffff', 0xffff_ffff],
    ['0xd4455352', 0xd445_5352],
  ] as const)('RESET with a wrong value %s is ignored and logged', async (_name, v) => {
    const d = dev();
    await d.write(R.REG_SCRATCH, 0x600d);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    const logs = await logCount(d);
    await d.write(R.REG_RESET, v);
    expect(await logCount(d)).toBeGreaterThan(logs);
    expect(await d.read(R.REG_SCRATCH)).toBe(0x600d);
    expect(await d.read(R.REG_IRQ_MASK)).toBe(R.IRQ_ALL);
  });

  test('stops both queues: jobs pending or running are abandoned without write-back', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const q0 = await d.queue(0, 2);
    const q1 = await d.queue(1, 2);
    const marks = await ctx.allocZeroed(16);
    await d.write(R.REG_INJECT_HANG, 1); // queue 0 holds its jobs
    await q0.submit(await ctx.job(cmd.fence(marks, 1n)));
    // queue 1 runs a 3-slice job slowly
    await d.write(R.REG_INJECT_DELAY_US, 500);
    await q1.submit(await ctx.job([cmd.fence(marks + 8n, 2n), ...Array.from({ length: 140 }, () => cmd.nop())]));
    for (let i = 0; i < 2000 && (await ctx.readU64(marks + 8n)) === 0n; i += 1) {
      if (i % 8 === 7) await d.stepClockIfPending();
    }
    expect(await ctx.readU64(marks + 8n), 'queue 1 job started').toBe(2n);
    await d.softReset();
    await d.write(R.REG_INJECT_DELAY_US, 0);
    for (let i = 0; i < 5; i += 1) await d.stepClockIfPending();
    await d.qt.clockStep(10_000_000);
    expect(await ctx.readU64(marks), 'queue 0 job never ran').toBe(0n);
    expect((await q0.result(0)).status).toBe(0xeeee_eeee);
    expect((await q1.result(0)).status).toBe(0xeeee_eeee);
    for (const q of [0, 1]) {
      expect(await d.readQ(q, R.REG_Q_STATUS)).toBe(0);
      expect(await d.readQ(q, R.REG_Q_HEAD)).toBe(0);
    }
  });

  test('leaves PCI configuration, BARs, bus mastering and MSI-X vectors as they are', async () => {
    const d = dev();
    const cmdReg = await d.pci.read16(PCI_COMMAND);
    const bars = [];
    for (let i = 0; i < 6; i += 1) bars.push(await d.pci.read32(PCI_BASE_ADDRESS_0 + 4 * i));
    const table = await d.qt.read(d.msix.tableAddr, 16 * 3);
    await d.softReset();
    expect(await d.pci.read16(PCI_COMMAND)).toBe(cmdReg);
    for (let i = 0; i < 6; i += 1) expect(await d.pci.read32(PCI_BASE_ADDRESS_0 + 4 * i)).toBe(bars[i]);
    expect(await d.qt.read(d.msix.tableAddr, 16 * 3)).toEqual(table);
    expect(await d.msix.enabled()).toBe(true);
    // and it works without reprogramming PCI: a job and its interrupt
    await d.setupDevice();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    expect((await d.run(ctx, [cmd.nop()], { flags: R.DESC_FLAG_IRQ })).status).toBe(R.JOB_OK);
    let fired: number[] = [];
    for (let i = 0; i < 200 && fired.length === 0; i += 1) fired = await d.msix.takeFired();
    expect(fired).toEqual([1]);
  });
});

describe('10. FLR and PCI reset', () => {
  const dev = useOssa({ freshEachTest: false });

  async function checkConfigReset(d: Ossa): Promise<void> {
    expect((await d.pci.read16(PCI_COMMAND)) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), 'command register reset').toBe(0);
    expect((await d.pci.read32(PCI_BASE_ADDRESS_0)) & ~0xf, 'BAR0 reset').toBe(0);
    await d.pci.enableMemoryAndMaster();
  }

  test('FLR (PCIe Device Control "Initiate FLR") resets the device and its PCI configuration; keeps INJECT_DELAY_US and INJECT_FAULT', async () => {
    const d = dev();
    await d.fresh();
    const cap = await d.pci.findCapability(PCI_CAP_ID_EXP);
    expect(cap, 'PCI Express capability present on the q35 root bus').not.toBe(0);
    expect((await d.pci.read32(cap + PCI_EXP_DEVCAP)) & PCI_EXP_DEVCAP_FLR, 'FLR capable').not.toBe(0);
    await dirtyEverything(d);
    const ctl = await d.pci.read16(cap + PCI_EXP_DEVCTL);
    await d.pci.write16(cap + PCI_EXP_DEVCTL, ctl | PCI_EXP_DEVCTL_BCR_FLR);
    await checkConfigReset(d);
    expect(await d.msix.enabled(), 'MSI-X state reset').toBe(false);
    await d.setupPci();
    await expectResetState(d);
    await d.setupDevice();
  });

  test.each(['a FENCE', 'the MSI-X message of a FENCE\'s interrupt', 'the MSI-X message of an MMU fault\'s interrupt'] as const)(
    'a job that sets its own Initiate FLR (%s at Device Control, through MMCONFIG) stops with the reset: no write, fault, interrupt or completion after it',
    async (via) => {
      const d = dev();
      await d.reinit();
      await d.fresh();
      await enableMmconfig(d.qt);
      const cap = await d.pci.findCapability(PCI_CAP_ID_EXP);
      const devctl = mmconfigAddress(d.pci, cap + PCI_EXP_DEVCTL);
      const flrValue = (await d.pci.read16(cap + PCI_EXP_DEVCTL)) | PCI_EXP_DEVCTL_BCR_FLR;
      await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
      const ctx = await d.context(1);
      const marker = await ctx.allocZeroed(16);
      let reset: Buffer;
      if (via === 'a FENCE') {
        const flr = fenceFor16(devctl, flrValue);
        reset = cmd.fence(await ctx.mapBus(flr.addr), flr.value);
      } else if (via === 'the MSI-X message of a FENCE\'s interrupt') {
        // Queue 0's job interrupts have a vector of their own: its message (a dword) sets FLR.
        await d.msix.program(R.MSIX_VECTOR_QUEUE(0), devctl, flrValue);
        reset = cmd.fence(marker + 8n, 1n, R.CMD_FENCE_FLAG_IRQ);
      } else {
        // A FENCE at an unmapped VA faults; MMU_FAULT's vector sets FLR.
        await d.msix.program(R.MSIX_VECTOR_MISC, devctl, flrValue);
        reset = cmd.fence(ctx.reserve(8), 1n);
      }
      // After the reset Q_BASE is 0: a late completion would write its result at bus address 0.
      const low = Buffer.alloc(R.DESC_SIZE, 0xa5);
      await d.qt.write(0, low);
      const queue = await d.queue(0);
      await queue.submit(await ctx.job([reset, cmd.fence(marker, 0x600dn, R.CMD_FENCE_FLAG_IRQ)], { flags: R.DESC_FLAG_IRQ }));
      await checkConfigReset(d);
      expect(await d.msix.enabled(), 'MSI-X state reset').toBe(false);
      await d.setupPci();
      const after = {
        IRQ_STATUS: await d.read(R.REG_IRQ_STATUS),
        FAULT_INFO: await d.read(R.REG_FAULT_INFO),
        FAULT_COUNT: await d.read(R.REG_FAULT_COUNT),
        CTX_STOPPED_LO: await d.read(R.REG_CTX_STOPPED_LO),
        Q_HEAD: await d.readQ(0, R.REG_Q_HEAD),
        Q_STATUS: await d.readQ(0, R.REG_Q_STATUS),
      };
      expect(after, 'registers after the FLR').toEqual({ IRQ_STATUS: 0, FAULT_INFO: 0, FAULT_COUNT: 0, CTX_STOPPED_LO: 0, Q_HEAD: 0, Q_STATUS: 0 });
      expect(await ctx.read(marker, 8), 'the FENCE after the FLR did not write').toEqual(Buffer.alloc(8));
      // encodeDescriptor() fills the device half with 0xee.
      const result = await d.qt.read(queue.slotAddr(0) + R.DESC_RESULT, R.DESC_SIZE - R.DESC_RESULT);
      expect(result.every((b) => b === 0xee), 'the job\'s slot: no write-back').toBe(true);
      expect(await d.qt.read(0, R.DESC_SIZE), 'bus address 0 (no completion into the reset ring)').toEqual(low);
      await d.setupDevice();
    },
  );

  test('PCI reset (QMP system_reset) resets the device and its PCI configuration; keeps INJECT_DELAY_US and INJECT_FAULT', async () => {
    const d = dev();
    await d.reinit();
    await d.fresh();
    await dirtyEverything(d);
    const since = d.qt.qmp.events.length;
    await d.qt.qmp.execute('system_reset');
    await d.qt.qmp.waitEvent('RESET', since);
    // the reset is done in the main loop once requested: wait for it to show
    await pollUntil(async () => ((await d.pci.read16(PCI_COMMAND)) & PCI_COMMAND_MEMORY) === 0, 1000);
    await checkConfigReset(d);
    expect(await d.msix.enabled(), 'MSI-X state reset').toBe(false);
    await d.setupPci();
    await expectResetState(d);
    // the device works again after setup
    await d.fresh();
    const ctx = await d.context(1);
    expect((await d.run(ctx, [cmd.nop()])).status).toBe(R.JOB_OK);
  });
});
