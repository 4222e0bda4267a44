/**
 * Datasheet section 12 without `fault-injection=on`: the registers behave as
 * unlisted offsets, CAPS bit 24 is 0, the QOM properties still work.
 */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import { logCount, useOssa } from './harness.js';
import { PERM_RW } from './memory.js';
import { DEVICE_QOM_PATH } from './qtest.js';
import { R } from './regs.js';

const INJECT_REGS: Array<[string, number]> = [
  ['INJECT_HANG', R.REG_INJECT_HANG],
  ['INJECT_FAIL', R.REG_INJECT_FAIL],
  ['INJECT_DELAY_US', R.REG_INJECT_DELAY_US],
  ['INJECT_FAULT_LO', R.REG_INJECT_FAULT_LO],
  ['INJECT_FAULT_HI', R.REG_INJECT_FAULT_HI],
];

describe('12. fault-injection=off', () => {
  const dev = useOssa({ deviceOptions: 'fault-injection=off' });

  test('CAPS.FAULT_INJECTION (bit 24) is 0: CAPS = 0x80270602', async () => {
    expect((await dev().read(R.REG_CAPS)) >>> 0).toBe(0x8027_0602);
  });

  test.each(INJECT_REGS)('%s reads 0; a write is ignored and logged, with no effect', async (_name, off) => {
    const d = dev();
    const logs = await logCount(d);
    await d.write(off, off === R.REG_INJECT_FAULT_LO ? 0x9000_0001 : 0xffff_ffff);
    expect(await logCount(d)).toBeGreaterThan(logs);
    expect(await d.read(off)).toBe(0);
    const ctx = await d.context(1);
    await ctx.alloc(4096, PERM_RW, { va: 0x9000_0000n });
    const r = await d.run(ctx, [cmd.fence(0x9000_0000n, 1n), ...Array.from({ length: 70 }, () => cmd.nop())], {}, 0, { tries: 500 });
    expect(r.status).toBe(R.JOB_OK);
    expect(r.endNs - r.startNs, 'no delay').toBe(0n);
  });

  test('inject-fail (QOM) still fails the next job; the register reads 0', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-fail', 1);
    expect(await d.read(R.REG_INJECT_FAIL)).toBe(0);
    expect(await d.qt.qmp.qomGet(DEVICE_QOM_PATH, 'inject-fail')).toBe(1);
    expect((await d.run(ctx, [cmd.nop()])).status).toBe(R.JOB_INJECTED_ERROR);
    expect(await d.qt.qmp.qomGet(DEVICE_QOM_PATH, 'inject-fail')).toBe(0);
  });

  test('inject-hang (QOM) still hangs the queue; the register reads 0', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(0);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-hang', 1);
    expect(await d.read(R.REG_INJECT_HANG)).toBe(0);
    await queue.submit(await ctx.job(cmd.nop()));
    await queue.expectHeadStays(0, 50);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-hang', 0);
    await queue.waitHead(1);
  });

  test('inject-delay-us (QOM) still delays slices; the register reads 0', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-delay-us', 100);
    try {
      expect(await d.read(R.REG_INJECT_DELAY_US)).toBe(0);
      expect(await d.qt.qmp.qomGet(DEVICE_QOM_PATH, 'inject-delay-us')).toBe(100);
      const r = await d.run(ctx, Array.from({ length: 130 }, () => cmd.nop()), {}, 0, { stepClock: true });
      expect(r.status).toBe(R.JOB_OK);
      expect(r.endNs - r.startNs).toBeGreaterThanOrEqual(200_000n);
    } finally {
      await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-delay-us', 0);
    }
  });

  test('inject-fault (QOM) still faults the page with cause INJECTED; the registers read 0', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const va = await ctx.alloc(4096);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-fault', Number(va | 1n));
    try {
      expect(await d.read(R.REG_INJECT_FAULT_LO)).toBe(0);
      expect(await d.read(R.REG_INJECT_FAULT_HI)).toBe(0);
      const r = await d.run(ctx, [cmd.fence(va, 1n)]);
      expect(r.status).toBe(R.JOB_MMU_FAULT);
      expect(((await d.read(R.REG_FAULT_INFO)) & R.FAULT_INFO_CAUSE_MASK) >>> R.FAULT_INFO_CAUSE_SHIFT).toBe(R.FAULT_INJECTED);
    } finally {
      await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-fault', 0);
    }
  });
});

describe('12. fault injection is off by default', () => {
  const dev = useOssa({ deviceOptions: '', freshEachTest: false });

  test('without fault-injection=on, CAPS bit 24 is 0 and INJECT_FAIL reads 0 after a write', async () => {
    const d = dev();
    expect((await d.read(R.REG_CAPS)) & R.CAPS_FAULT_INJECTION).toBe(0);
    await d.write(R.REG_INJECT_FAIL, 1);
    expect(await d.read(R.REG_INJECT_FAIL)).toBe(0);
  });
});
