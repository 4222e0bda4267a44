/** Datasheet section 12: fault injection, with `fault-injection=on` (registers and QOM properties). */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Context, Ossa } from './device.js';
import { logCount, split64, statusCode, useOssa, waitQueueError } from './harness.js';
import { PERM_RW } from './memory.js';
import { DEVICE_QOM_PATH } from './qtest.js';
import { R } from './regs.js';

const MARK = 0x4d41_524bn;

async function markJob(ctx: Context): Promise<{ desc: Awaited<ReturnType<Context['job']>>; mark: bigint }> {
  const mark = await ctx.allocZeroed(8);
  return { desc: await ctx.job([cmd.fence(mark, MARK)]), mark };
}

async function qomGetNumber(d: Ossa, prop: string): Promise<number> {
  const v = await d.qt.qmp.qomGet(DEVICE_QOM_PATH, prop);
  if (typeof v !== 'number') throw new Error(`${prop} is ${JSON.stringify(v)}`);
  return v;
}

describe('12. fault injection registers (fault-injection=on)', () => {
  const dev = useOssa({ deviceOptions: 'fault-injection=on' });

  test('CAPS.FAULT_INJECTION (bit 24) is 1', async () => {
    expect((await dev().read(R.REG_CAPS)) & R.CAPS_FAULT_INJECTION).toBe(0x0100_0000);
  });

  test('the injection registers reset to 0', async () => {
    const d = dev();
    for (const off of [R.REG_INJECT_HANG, R.REG_INJECT_FAIL, R.REG_INJECT_DELAY_US, R.REG_INJECT_FAULT_LO, R.REG_INJECT_FAULT_HI]) {
      expect(await d.read(off)).toBe(0);
    }
  });

  test.each([0, 1])('INJECT_HANG bit %i: the queue stops making progress (Q_HEAD stays) while the other queue runs', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    const hung = await d.queue(q);
    const other = await d.queue(1 - q);
    await d.write(R.REG_INJECT_HANG, 1 << q);
    expect(await d.read(R.REG_INJECT_HANG)).toBe(1 << q);
    const { desc, mark } = await markJob(ctx);
    await hung.submit(desc);
    expect((await other.run(await ctx.job(cmd.nop()))).status).toBe(R.JOB_OK);
    await hung.expectHeadStays(0, 100);
    expect(await ctx.readU64(mark)).toBe(0n);
    expect(await hung.status()).toBe(R.Q_STATUS_ENABLED | R.Q_STATUS_BUSY);
  });

  test('INJECT_HANG: the hang lasts until the queue is disabled', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(0);
    await d.write(R.REG_INJECT_HANG, 1);
    await queue.submit(await ctx.job(cmd.nop()));
    await queue.expectHeadStays(0, 50);
    await queue.disable();
    await queue.enable();
    const r = await queue.run(await ctx.job(cmd.nop()), { tries: 500 });
    expect(r.status).toBe(R.JOB_OK);
  });

  test('INJECT_HANG: a queue error (which disables the queue) ends the hang too, and clears the queue\'s bit', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(0);
    await d.write(R.REG_INJECT_HANG, 3);
    await queue.submit(await ctx.job(cmd.nop()));
    await queue.expectHeadStays(0, 50);
    // A doorbell past the ring's end: TAIL_OVERRUN stops the queue.
    await queue.doorbell(1 + (1 << 4) + 1);
    expect(statusCode(await waitQueueError(d, 0))).toBe(R.Q_ERR_TAIL_OVERRUN);
    expect(await d.read(R.REG_INJECT_HANG), 'queue 1 still hangs').toBe(2);
    await queue.enable();
    const r = await queue.run(await ctx.job(cmd.nop()), { tries: 500 });
    expect(r.status).toBe(R.JOB_OK);
    await d.write(R.REG_INJECT_HANG, 0);
  });

  test('INJECT_HANG: the hang lasts until a reset, which clears INJECT_HANG', async () => {
    const d = dev();
    await d.write(R.REG_INJECT_HANG, 3);
    await d.softReset();
    expect(await d.read(R.REG_INJECT_HANG)).toBe(0);
    await d.setupDevice();
    const ctx = await d.context(1);
    expect((await d.run(ctx, [cmd.nop()])).status).toBe(R.JOB_OK);
    expect((await d.run(ctx, [cmd.nop()], {}, 1)).status).toBe(R.JOB_OK);
  });

  test('INJECT_HANG: reserved bits are ignored and logged', async () => {
    const d = dev();
    const logs = await logCount(d);
    await d.write(R.REG_INJECT_HANG, 0xffff_fffe);
    expect(await d.read(R.REG_INJECT_HANG)).toBe(2);
    expect(await logCount(d)).toBeGreaterThan(logs);
  });

  test('INJECT_FAIL: the next job completes INJECTED_ERROR without running; the bit clears when used', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(0);
    await d.write(R.REG_INJECT_FAIL, R.INJECT_FAIL_NEXT);
    expect(await d.read(R.REG_INJECT_FAIL)).toBe(1);
    const first = await markJob(ctx);
    const r = await queue.run(first.desc);
    expect(r.status).toBe(R.JOB_INJECTED_ERROR);
    expect(r.errorOffset).toBe(0);
    expect(await ctx.readU64(first.mark)).toBe(0n);
    expect(await d.read(R.REG_INJECT_FAIL)).toBe(0);
    const second = await markJob(ctx);
    expect((await queue.run(second.desc)).status).toBe(R.JOB_OK);
    expect(await ctx.readU64(second.mark)).toBe(MARK);
    expect(R.JOB_INJECTED_ERROR).toBe(6);
  });

  test('INJECT_FAIL applies to the next job on any queue (queue 1), and to one job only', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(1);
    await d.write(R.REG_INJECT_FAIL, 1);
    const [a, b] = await queue.submit(await ctx.job(cmd.nop()), await ctx.job(cmd.nop()));
    await queue.waitHead(2);
    expect((await queue.result(a ?? 0)).status).toBe(R.JOB_INJECTED_ERROR);
    expect((await queue.result(b ?? 0)).status).toBe(R.JOB_OK);
  });

  test('INJECT_FAIL: reserved bits are ignored and logged; cleared by a soft reset', async () => {
    const d = dev();
    const logs = await logCount(d);
    await d.write(R.REG_INJECT_FAIL, 0xffff_ffff);
    expect(await d.read(R.REG_INJECT_FAIL)).toBe(1);
    expect(await logCount(d)).toBeGreaterThan(logs);
    await d.softReset();
    expect(await d.read(R.REG_INJECT_FAIL)).toBe(0);
  });

  test('INJECT_DELAY_US: each slice is followed by the delay in device time; without device time the job does not finish', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(0);
    await d.write(R.REG_INJECT_DELAY_US, 1000);
    expect(await d.read(R.REG_INJECT_DELAY_US)).toBe(1000);
    await queue.submit(await ctx.job(Array.from({ length: 150 }, () => cmd.nop()))); // 3 slices
    await queue.expectHeadStays(0, 200);
    await queue.waitHead(1, { stepClock: true });
    const r = await queue.result(0);
    expect(r.status).toBe(R.JOB_OK);
    expect(r.endNs - r.startNs).toBeGreaterThanOrEqual(2_000_000n);
    expect(r.endNs - r.startNs).toBeLessThanOrEqual(3_000_000n);
  });

  test('INJECT_DELAY_US: the first slice runs at once (the delay follows each slice)', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(0);
    const mark = await ctx.allocZeroed(8);
    await d.write(R.REG_INJECT_DELAY_US, 1000);
    await queue.submit(await ctx.job([cmd.fence(mark, MARK), ...Array.from({ length: 100 }, () => cmd.nop())]));
    let seen = 0n;
    for (let i = 0; i < 300 && seen === 0n; i += 1) seen = await ctx.readU64(mark);
    expect(seen, 'the first slice ran without device time passing').toBe(MARK);
  });

  test('INJECT_DELAY_US: values above 1000000 are clamped and logged', async () => {
    const d = dev();
    for (const v of [1_000_001, 2_000_000, 0xffff_ffff]) {
      const logs = await logCount(d);
      await d.write(R.REG_INJECT_DELAY_US, v);
      expect(await d.read(R.REG_INJECT_DELAY_US)).toBe(R.INJECT_DELAY_MAX_US);
      expect(await logCount(d)).toBeGreaterThan(logs);
    }
    await d.write(R.REG_INJECT_DELAY_US, 1_000_000);
    expect(await d.read(R.REG_INJECT_DELAY_US)).toBe(1_000_000);
    expect(R.INJECT_DELAY_MAX_US).toBe(1_000_000);
  });

  test('INJECT_FAULT_LO/HI: RW; ENABLE and VA bits 31:12 in LO, VA bits 38:32 in HI; reserved bits (LO 11:1, HI 31:7) ignored and logged', async () => {
    const d = dev();
    const logs = await logCount(d);
    await d.write(R.REG_INJECT_FAULT_LO, 0xffff_ffff);
    expect(await d.read(R.REG_INJECT_FAULT_LO)).toBe(0xffff_f001);
    expect(await logCount(d)).toBeGreaterThan(logs);
    await d.write(R.REG_INJECT_FAULT_LO, 0x1234_5000);
    expect(await d.read(R.REG_INJECT_FAULT_LO)).toBe(0x1234_5000);
    await d.write(R.REG_INJECT_FAULT_HI, 0x7f);
    expect(await d.read(R.REG_INJECT_FAULT_HI)).toBe(0x7f);
    const before = await logCount(d);
    await d.write(R.REG_INJECT_FAULT_HI, 0xffff_ffff);
    expect(await d.read(R.REG_INJECT_FAULT_HI)).toBe(0x7f);
    expect(await logCount(d)).toBeGreaterThan(before);
  });

  test('INJECT_FAULT: the page faults with cause INJECTED in every context; not when ENABLE is 0; other pages are fine', async () => {
    const d = dev();
    const va = 0x23_4567_8000n;
    const ctxs: Context[] = [];
    for (const id of [2, 33]) {
      const ctx = await d.context(id);
      await ctx.alloc(8192, PERM_RW, { va });
      ctxs.push(ctx);
    }
    const [lo, hi] = split64(va);
    await d.write(R.REG_INJECT_FAULT_HI, hi);
    await d.write(R.REG_INJECT_FAULT_LO, lo); // ENABLE 0
    const [a, b] = ctxs as [Context, Context];
    expect((await d.run(a, [cmd.fence(va, 1n)])).status).toBe(R.JOB_OK);
    await d.write(R.REG_INJECT_FAULT_LO, lo | R.INJECT_FAULT_ENABLE);
    expect((await d.run(a, [cmd.fence(va + 0x1000n, 1n)])).status, 'the next page').toBe(R.JOB_OK);
    for (const [i, ctx] of [a, b].entries()) {
      await d.write(R.REG_FAULT_INFO, R.FAULT_INFO_VALID);
      const r = await d.run(ctx, [cmd.nop(), cmd.fence(va + 0x10n * BigInt(i + 1), 1n)], {}, i);
      expect(r.status).toBe(R.JOB_MMU_FAULT);
      expect(r.errorOffset).toBe(8);
      const info = await d.read(R.REG_FAULT_INFO);
      expect((info & R.FAULT_INFO_CAUSE_MASK) >>> R.FAULT_INFO_CAUSE_SHIFT).toBe(R.FAULT_INJECTED);
      expect(info & R.FAULT_INFO_CONTEXT_MASK).toBe(ctx.id);
      expect(await d.faultAddr()).toBe(va + 0x10n * BigInt(i + 1));
    }
  });
});

describe('12. fault injection QOM properties (fault-injection=on)', () => {
  const dev = useOssa({ deviceOptions: 'fault-injection=on' });

  test('inject-hang: qom-set hangs the queue and shows in INJECT_HANG; qom-get follows the register', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(1);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-hang', 2);
    expect(await d.read(R.REG_INJECT_HANG)).toBe(2);
    await queue.submit(await ctx.job(cmd.nop()));
    await queue.expectHeadStays(0, 50);
    await d.write(R.REG_INJECT_HANG, 0);
    expect(await qomGetNumber(d, 'inject-hang')).toBe(0);
    await queue.waitHead(1);
  });

  test('inject-fail: qom-set fails the next job; qom-get shows it cleared when used', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-fail', 1);
    expect(await d.read(R.REG_INJECT_FAIL)).toBe(1);
    expect(await qomGetNumber(d, 'inject-fail')).toBe(1);
    expect((await d.run(ctx, [cmd.nop()])).status).toBe(R.JOB_INJECTED_ERROR);
    expect(await qomGetNumber(d, 'inject-fail')).toBe(0);
  });

  test('inject-delay-us: qom-set sets INJECT_DELAY_US and delays slices', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-delay-us', 300);
    expect(await d.read(R.REG_INJECT_DELAY_US)).toBe(300);
    await d.write(R.REG_INJECT_DELAY_US, 250);
    expect(await qomGetNumber(d, 'inject-delay-us')).toBe(250);
    const r = await d.run(ctx, Array.from({ length: 130 }, () => cmd.nop()), {}, 0, { stepClock: true });
    expect(r.endNs - r.startNs).toBeGreaterThanOrEqual(500_000n);
  });

  test('inject-fault: qom-set of the u64 sets INJECT_FAULT_LO/HI and the page faults', async () => {
    const d = dev();
    const ctx = await d.context(5);
    const va = 0x12_3456_7000n;
    await ctx.alloc(4096, PERM_RW, { va });
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-fault', Number(va | 1n));
    expect(await d.read(R.REG_INJECT_FAULT_LO)).toBe(0x3456_7001);
    expect(await d.read(R.REG_INJECT_FAULT_HI)).toBe(0x12);
    const r = await d.run(ctx, [cmd.timestamp(va + 0x100n)]);
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    expect((await d.read(R.REG_FAULT_INFO) & R.FAULT_INFO_CAUSE_MASK) >>> R.FAULT_INFO_CAUSE_SHIFT).toBe(R.FAULT_INJECTED);
    await d.write(R.REG_INJECT_FAULT_HI, 0x22);
    expect(await qomGetNumber(d, 'inject-fault')).toBe(Number(0x22_3456_7001n));
  });

  test('the properties refuse a value their register cannot hold, and a non-number, with the reason; nothing changes', async () => {
    const d = dev();
    await d.write(R.REG_INJECT_DELAY_US, 7);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-fault', 0x3001);
    for (const prop of ['inject-hang', 'inject-fail', 'inject-delay-us']) {
      await expect(d.qt.qmp.qomSet(DEVICE_QOM_PATH, prop, 2 ** 32), prop).rejects.toThrow(/expects uint32_t/);
      await expect(d.qt.qmp.qomSet(DEVICE_QOM_PATH, prop, 'one'), prop).rejects.toThrow(/QMP error/);
    }
    const refused: Array<[string, number, RegExp]> = [
      ['inject-hang', 1 << R.NUM_QUEUES, /inject-hang: 0x4 names a queue the device does not have/],
      ['inject-fail', 2, /inject-fail: 0x2 has reserved bits/],
      ['inject-delay-us', R.INJECT_DELAY_MAX_US + 1, /inject-delay-us: 1000001 is above the maximum, 1000000/],
      // VA bit 40, and an offset in the page
      ['inject-fault', 2 ** 40 + 0x3001, /inject-fault: 0x10000003001 has reserved bits/],
      ['inject-fault', 0x3801, /inject-fault: 0x3801 has reserved bits/],
    ];
    for (const [prop, value, says] of refused) {
      await expect(d.qt.qmp.qomSet(DEVICE_QOM_PATH, prop, value), `${prop} = ${value}`).rejects.toThrow(says);
    }
    expect([await d.read(R.REG_INJECT_HANG), await d.read(R.REG_INJECT_FAIL), await d.read(R.REG_INJECT_DELAY_US)]).toEqual([0, 0, 7]);
    expect(await qomGetNumber(d, 'inject-fault')).toBe(0x3001);
  });

  test('a soft reset clears inject-hang and inject-fail and keeps inject-delay-us and inject-fault', async () => {
    const d = dev();
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-hang', 1);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-fail', 1);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-delay-us', 42);
    await d.qt.qmp.qomSet(DEVICE_QOM_PATH, 'inject-fault', 0x7000_1001);
    await d.softReset();
    expect(await qomGetNumber(d, 'inject-hang')).toBe(0);
    expect(await qomGetNumber(d, 'inject-fail')).toBe(0);
    expect(await qomGetNumber(d, 'inject-delay-us')).toBe(42);
    expect(await qomGetNumber(d, 'inject-fault')).toBe(0x7000_1001);
  });
});
