/** Datasheet section 8: IRQ_STATUS / IRQ_MASK, MSI-X vectors, MSI, INTx; section 9 ordering. */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Context, Ossa } from './device.js';
import { pollUntil, useOssa, waitQueueError } from './harness.js';
import { Msi, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, q35IntaGsi } from './pci.js';
import { R } from './regs.js';

/** Polls the MSI-X mailbox until some vector fired; returns the vectors (and clears them). */
async function waitFired(d: Ossa, tries = 500): Promise<number[]> {
  let fired: number[] = [];
  await pollUntil(async () => {
    fired = await d.msix.takeFired();
    return fired.length > 0;
  }, tries);
  return fired;
}

/** Checks that no vector fires within a number of polls. */
async function expectNoMessage(d: Ossa, polls = 30): Promise<void> {
  for (let i = 0; i < polls; i += 1) expect(await d.msix.takeFired()).toEqual([]);
}

async function irqJob(d: Ossa, ctx: Context, q: number): Promise<void> {
  const r = await d.run(ctx, [cmd.nop()], { flags: R.DESC_FLAG_IRQ }, q);
  expect(r.status).toBe(R.JOB_OK);
}

/** Raises QUEUE_ERROR(q) with BAD_RING. */
async function queueError(d: Ossa, q: number): Promise<void> {
  await d.writeQ(q, R.REG_Q_CONTROL, 0);
  await d.writeQ(q, R.REG_Q_SIZE, 0);
  await d.writeQ(q, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
  await waitQueueError(d, q);
}

async function mmuFault(d: Ossa, ctx: Context): Promise<void> {
  const r = await d.run(ctx, [cmd.fence(ctx.reserve(8), 1n)]);
  expect(r.status).toBe(R.JOB_MMU_FAULT);
}

describe('8. interrupt causes and MSI-X vectors', () => {
  const dev = useOssa();

  test('three MSI-X vectors: 0 misc, 1 + q for QUEUE_JOB(q)', () => {
    expect(R.MSIX_VECTOR_MISC).toBe(0);
    expect([R.MSIX_VECTOR_QUEUE(0), R.MSIX_VECTOR_QUEUE(1)]).toEqual([1, 2]);
    expect([R.IRQ_QUEUE_JOB(0), R.IRQ_QUEUE_JOB(1), R.IRQ_QUEUE_ERROR(0), R.IRQ_QUEUE_ERROR(1), R.IRQ_MMU_FAULT]).toEqual([
      1, 2, 0x100, 0x200, 0x10000,
    ]);
  });

  test.each([0, 1])('QUEUE_JOB(%i): a job with FLAGS.IRQ sets the cause and sends vector 1 + q', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    await irqJob(d, ctx, q);
    expect(await waitFired(d)).toEqual([1 + q]);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_JOB(q));
  });

  test.each([0, 1])('queue %i: a job without FLAGS.IRQ raises nothing', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    expect((await d.run(ctx, [cmd.nop()], {}, q)).status).toBe(R.JOB_OK);
    await expectNoMessage(d);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(0);
  });

  test.each([0, 1])('QUEUE_JOB(%i) is raised for jobs with FLAGS.IRQ that fail, too', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(q);
    await d.write(R.REG_IRQ_MASK, R.IRQ_QUEUE_JOB(q));
    const failing = [
      { ...(await ctx.job(cmd.nop())), cmdSize: 12, flags: R.DESC_FLAG_IRQ }, // INVALID_DESCRIPTOR
      { ...(await ctx.job(cmd.nop())), context: 64, flags: R.DESC_FLAG_IRQ }, // INVALID_CONTEXT
      await ctx.job([cmd.nop(1)], { flags: R.DESC_FLAG_IRQ }), // INVALID_COMMAND
      await ctx.job([cmd.fence(ctx.reserve(8), 1n)], { flags: R.DESC_FLAG_IRQ }), // MMU_FAULT
      await ctx.job([cmd.nop()], { flags: R.DESC_FLAG_IRQ }), // CONTEXT_STOPPED
    ];
    const want = [R.JOB_INVALID_DESCRIPTOR, R.JOB_INVALID_CONTEXT, R.JOB_INVALID_COMMAND, R.JOB_MMU_FAULT, R.JOB_CONTEXT_STOPPED];
    for (const [i, desc] of failing.entries()) {
      const r = await queue.run(desc);
      expect(r.status).toBe(want[i]);
      expect(await waitFired(d), `after status ${r.status}`).toEqual([1 + q]);
      expect((await d.read(R.REG_IRQ_STATUS)) & R.IRQ_QUEUE_JOB(q)).toBe(R.IRQ_QUEUE_JOB(q));
      await d.write(R.REG_IRQ_STATUS, R.IRQ_ALL);
    }
  });

  test.each([0, 1])('QUEUE_JOB(%i): a FENCE with IRQ sends vector 1 + q', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    const f = await ctx.alloc(8);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    expect((await d.run(ctx, [cmd.fence(f, 9n, R.CMD_FENCE_FLAG_IRQ)], {}, q)).status).toBe(R.JOB_OK);
    expect(await waitFired(d)).toEqual([1 + q]);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_JOB(q));
  });

  test.each([0, 1])('QUEUE_ERROR(%i): a queue error sets bit 8 + q and sends vector 0', async (q) => {
    const d = dev();
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    await queueError(d, q);
    expect(await waitFired(d)).toEqual([0]);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_ERROR(q));
  });

  test('MMU_FAULT: a fault sets bit 16 and sends vector 0', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    await mmuFault(d, ctx);
    expect(await waitFired(d)).toEqual([0]);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_MMU_FAULT);
  });

  test('IRQ_MASK gates messages: a masked cause is set in IRQ_STATUS but sends nothing', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL & ~R.IRQ_QUEUE_JOB(0) & ~R.IRQ_MMU_FAULT);
    await irqJob(d, ctx, 0);
    await mmuFault(d, ctx);
    await expectNoMessage(d);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_JOB(0) | R.IRQ_MMU_FAULT);
  });

  test('writing IRQ_MASK sends the vector of each newly enabled cause that is pending, and only those', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await irqJob(d, ctx, 1);
    await queueError(d, 0);
    await expectNoMessage(d, 10);
    await d.write(R.REG_IRQ_MASK, R.IRQ_QUEUE_JOB(1));
    expect(await waitFired(d)).toEqual([2]);
    await d.write(R.REG_IRQ_MASK, R.IRQ_QUEUE_JOB(1)); // nothing newly enabled
    await expectNoMessage(d, 10);
    await d.write(R.REG_IRQ_MASK, R.IRQ_QUEUE_JOB(1) | R.IRQ_QUEUE_JOB(0) | R.IRQ_QUEUE_ERROR(0));
    expect(await waitFired(d)).toEqual([0]); // QUEUE_JOB(0) is not pending
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL); // MMU_FAULT, QUEUE_ERROR(1) not pending
    await expectNoMessage(d, 10);
  });

  test('each event sends its message even when its cause is already pending', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    for (let i = 0; i < 3; i += 1) {
      await irqJob(d, ctx, 0);
      expect(await waitFired(d), `event ${i}`).toEqual([1]);
    }
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_JOB(0));
  });

  test('IRQ_STATUS W1C clears only the bits written; clearing sends nothing', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    await irqJob(d, ctx, 0);
    await irqJob(d, ctx, 1);
    await mmuFault(d, ctx);
    await pollUntil(async () => (await d.msix.takeFired()).length === 0, 50);
    await d.msix.clearMailbox();
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_JOB(0) | R.IRQ_QUEUE_JOB(1) | R.IRQ_MMU_FAULT);
    await d.write(R.REG_IRQ_STATUS, R.IRQ_QUEUE_JOB(1));
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_JOB(0) | R.IRQ_MMU_FAULT);
    await d.write(R.REG_IRQ_STATUS, R.IRQ_ALL);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(0);
    await expectNoMessage(d, 10);
  });

  test('MSI-X per-vector mask applies on top: the message is held pending (PBA) and sent on unmask', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    await d.msix.maskVector(1, true);
    await irqJob(d, ctx, 0);
    await expectNoMessage(d);
    expect(await d.msix.pending(1)).toBe(true);
    await d.msix.maskVector(1, false);
    expect(await waitFired(d)).toEqual([1]);
    expect(await d.msix.pending(1)).toBe(false);
  });

  test('MSI-X function mask applies on top: messages held and sent on unmask', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    await d.msix.setFlags(true, true);
    await irqJob(d, ctx, 1);
    await mmuFault(d, ctx);
    await expectNoMessage(d);
    await d.msix.setFlags(true, false);
    const fired = await waitFired(d);
    expect(fired.sort()).toEqual([0, 2]);
  });

  test('section 9: when the message arrives, the job\'s results and Q_HEAD are already written', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(0);
    const out = await ctx.alloc(8);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    await queue.submit(await ctx.job([cmd.fence(out, 0x77n)], { flags: R.DESC_FLAG_IRQ }));
    expect(await waitFired(d, 5000)).toEqual([1]);
    expect(await queue.head()).toBe(1);
    expect((await queue.result(0)).status).toBe(R.JOB_OK);
    expect(await ctx.readU64(out)).toBe(0x77n);
  });
});

describe('8. MSI and INTx', () => {
  const dev = useOssa();

  test('MSI (MSI-X off, MSI on): every cause sends the single message', async () => {
    const d = dev();
    const msi = await Msi.find(d.pci);
    if (!msi) throw new Error('no MSI capability (section 2: MSI, 1 vector)');
    const ctx = await d.context(1);
    const addr = d.mailbox + 0x800;
    await d.qt.writel(addr, 0);
    await d.msix.setFlags(false);
    await msi.enable(addr, 0x4d53);
    try {
      await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
      const take = async (): Promise<boolean> => {
        const ok = await pollUntil(async () => (await d.qt.readl(addr)) === 0x4d53, 500);
        await d.qt.writel(addr, 0);
        return ok;
      };
      await irqJob(d, ctx, 0);
      expect(await take(), 'QUEUE_JOB(0)').toBe(true);
      await irqJob(d, ctx, 1);
      expect(await take(), 'QUEUE_JOB(1)').toBe(true);
      await queueError(d, 1);
      expect(await take(), 'QUEUE_ERROR(1)').toBe(true);
      await mmuFault(d, ctx);
      expect(await take(), 'MMU_FAULT').toBe(true);
      await d.write(R.REG_IRQ_MASK, 0);
      await d.write(R.REG_IRQ_STATUS, R.IRQ_ALL);
      await irqJob(d, await d.context(2), 0);
      expect(await pollUntil(async () => (await d.qt.readl(addr)) !== 0, 30), 'masked: no message').toBe(false);
    } finally {
      await msi.disable();
    }
  });

  test('INTx: with MSI-X and MSI off, INTA is asserted while IRQ_STATUS & IRQ_MASK is not 0', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.qt.irqInterceptIn('ioapic');
    const gsi = q35IntaGsi(d.pci.slot);
    await d.msix.setFlags(false);
    expect((await d.pci.read16(PCI_COMMAND)) & PCI_COMMAND_INTX_DISABLE).toBe(0);
    const level = async (): Promise<[boolean, boolean]> => [await d.pci.intxAsserted(), d.qt.irqLevel(gsi)];
    expect(await level()).toEqual([false, false]);
    await irqJob(d, ctx, 0); // pending, masked
    expect(await level()).toEqual([false, false]);
    await d.write(R.REG_IRQ_MASK, R.IRQ_QUEUE_JOB(0));
    expect(await level(), 'asserted once enabled').toEqual([true, true]);
    await d.write(R.REG_IRQ_MASK, 0);
    expect(await level(), 'deasserted when masked').toEqual([false, false]);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    expect(await level()).toEqual([true, true]);
    await mmuFault(d, ctx);
    await d.write(R.REG_IRQ_STATUS, R.IRQ_QUEUE_JOB(0));
    expect(await level(), 'still asserted: MMU_FAULT pending').toEqual([true, true]);
    await d.write(R.REG_IRQ_STATUS, R.IRQ_MMU_FAULT);
    expect(await level(), 'deasserted by W1C').toEqual([false, false]);
  });

  test('INTx is deasserted by a soft reset', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.msix.setFlags(false);
    await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    await irqJob(d, ctx, 1);
    expect(await d.pci.intxAsserted()).toBe(true);
    await d.softReset();
    expect(await d.pci.intxAsserted()).toBe(false);
  });
});
