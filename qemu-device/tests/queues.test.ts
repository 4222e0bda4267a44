/** Datasheet section 5: queues, the ring, Q_STATUS and queue errors, descriptor write-back. */
import { describe, expect, test } from 'vitest';
import { cmd, encodeDescriptor } from './commands.js';
import { logCount, statusCode, useOssa, waitQueueError } from './harness.js';
import { UNASSIGNED_BUS_ADDR } from './memory.js';
import { R } from './regs.js';

const QUEUES = [0, 1] as const;

describe('5. queue registers', () => {
  const dev = useOssa();

  test.each(QUEUES)('queue %i: every register resets to 0', async (q) => {
    const d = dev();
    for (const off of [R.REG_Q_BASE_LO, R.REG_Q_BASE_HI, R.REG_Q_SIZE, R.REG_Q_CONTROL, R.REG_Q_TAIL, R.REG_Q_HEAD, R.REG_Q_STATUS]) {
      expect(await d.readQ(q, off), `offset 0x${off.toString(16)}`).toBe(0);
    }
    expect(R.REG_QUEUE(q)).toBe(0x100 + 0x40 * q);
  });

  test.each(QUEUES)('queue %i: Q_BASE_LO is RW with bits 5:0 reading 0; Q_BASE_HI and Q_SIZE are RW', async (q) => {
    const d = dev();
    await d.writeQ(q, R.REG_Q_BASE_LO, 0xffff_ffff);
    expect(await d.readQ(q, R.REG_Q_BASE_LO)).toBe(0xffff_ffc0);
    await d.writeQ(q, R.REG_Q_BASE_LO, 0x1234_5678);
    expect(await d.readQ(q, R.REG_Q_BASE_LO)).toBe(0x1234_5640);
    await d.writeQ(q, R.REG_Q_BASE_HI, 0xdead_beef);
    expect(await d.readQ(q, R.REG_Q_BASE_HI)).toBe(0xdead_beef);
    for (const v of [1, 12, 13, 0]) {
      await d.writeQ(q, R.REG_Q_SIZE, v);
      expect(await d.readQ(q, R.REG_Q_SIZE)).toBe(v);
    }
  });

  test.each(QUEUES)('queue %i: Q_CONTROL is RW (ENABLE), mirrored by Q_STATUS.ENABLED', async (q) => {
    const d = dev();
    const queue = await d.queue(q, 3);
    expect(await d.readQ(q, R.REG_Q_CONTROL)).toBe(R.Q_CONTROL_ENABLE);
    expect(await queue.status()).toBe(R.Q_STATUS_ENABLED);
    await queue.disable();
    expect(await d.readQ(q, R.REG_Q_CONTROL)).toBe(0);
    expect(await queue.status()).toBe(0);
  });

  test.each(QUEUES)('queue %i: Q_CONTROL reserved bits are ignored and logged; ENABLE in the same write takes effect', async (q) => {
    const d = dev();
    const queue = await d.queue(q, 3);
    await queue.disable();
    const logs = await logCount(d);
    await d.writeQ(q, R.REG_Q_CONTROL, 0xffff_fffe | R.Q_CONTROL_ENABLE);
    expect(await logCount(d)).toBeGreaterThan(logs);
    expect(await d.readQ(q, R.REG_Q_CONTROL)).toBe(R.Q_CONTROL_ENABLE);
    expect(await queue.status()).toBe(R.Q_STATUS_ENABLED);
    const ctx = await d.context(1);
    expect((await queue.run(await ctx.job(cmd.nop()))).status).toBe(R.JOB_OK);
  });

  test.each(QUEUES)('queue %i: Q_HEAD and Q_STATUS are read-only (writes ignored and logged)', async (q) => {
    const d = dev();
    const queue = await d.queue(q, 2);
    const ctx = await d.context(1);
    await queue.run(await ctx.job(cmd.nop()));
    for (const off of [R.REG_Q_HEAD, R.REG_Q_STATUS]) {
      const before = await d.readQ(q, off);
      const logs = await logCount(d);
      await d.writeQ(q, off, 0x77);
      expect(await logCount(d)).toBeGreaterThan(logs);
      expect(await d.readQ(q, off)).toBe(before);
    }
  });
});

describe('5.1 the ring', () => {
  const dev = useOssa();

  test.each(QUEUES)('queue %i: enable sets Q_HEAD = Q_TAIL = 0; disable keeps them until the next enable', async (q) => {
    const d = dev();
    const ctx = await d.context(2);
    const queue = await d.queue(q, 3);
    expect(await queue.head()).toBe(0);
    expect(await d.readQ(q, R.REG_Q_TAIL)).toBe(0);
    await queue.submit(await ctx.job(cmd.nop()), await ctx.job(cmd.nop()), await ctx.job(cmd.nop()));
    await queue.waitHead(3);
    expect(await d.readQ(q, R.REG_Q_TAIL)).toBe(3);
    await queue.disable();
    expect(await queue.head()).toBe(3);
    expect(await d.readQ(q, R.REG_Q_TAIL)).toBe(3);
    await queue.enable();
    expect(await queue.head()).toBe(0);
    expect(await d.readQ(q, R.REG_Q_TAIL)).toBe(0);
    expect(await queue.status()).toBe(R.Q_STATUS_ENABLED);
  });

  test.each(QUEUES)('queue %i: while the VM is stopped (QMP stop) the queue does no work; once it runs again (cont) the job runs', async (q) => {
    const d = dev();
    const ctx = await d.context(2);
    const queue = await d.queue(q, 3);
    const out = await ctx.allocZeroed(8);
    await d.qt.qmp.execute('stop');
    try {
      await queue.submit(await ctx.job(cmd.fence(out, 0x57_0bn)));
      await queue.expectHeadStays(0, 50);
      expect(await ctx.readU64(out), 'the FENCE did not run while stopped').toBe(0n);
    } finally {
      await d.qt.qmp.execute('cont');
    }
    await queue.waitHead(1);
    expect(await ctx.readU64(out)).toBe(0x57_0bn);
  });

  test.each(QUEUES)('queue %i: a Q_TAIL write while disabled is ignored and logged', async (q) => {
    const d = dev();
    const ctx = await d.context(2);
    const queue = await d.queue(q, 3);
    await queue.disable();
    await queue.writeDescriptor(0, await ctx.job(cmd.nop()));
    const logs = await logCount(d);
    await d.writeQ(q, R.REG_Q_TAIL, 1);
    expect(await logCount(d)).toBeGreaterThan(logs);
    expect(await d.readQ(q, R.REG_Q_TAIL)).toBe(0);
    await queue.expectHeadStays(0, 50);
    expect((await queue.result(0)).status).toBe(0xeeee_eeee);
  });

  test.each(QUEUES)('queue %i: Q_BASE and Q_SIZE writes while enabled are ignored and logged', async (q) => {
    const d = dev();
    const queue = await d.queue(q, 3);
    for (const [off, v] of [
      [R.REG_Q_BASE_LO, 0x40],
      [R.REG_Q_BASE_HI, 1],
      [R.REG_Q_SIZE, 5],
    ] as const) {
      const before = await d.readQ(q, off);
      const logs = await logCount(d);
      await d.writeQ(q, off, v);
      expect(await logCount(d)).toBeGreaterThan(logs);
      expect(await d.readQ(q, off)).toBe(before);
    }
    // the queue still works on its ring
    const ctx = await d.context(3);
    expect((await queue.run(await ctx.job(cmd.nop()))).status).toBe(R.JOB_OK);
  });

  test.each(QUEUES)('queue %i: Q_SIZE 1 and 12 are accepted (2 and 4096 entries)', async (q) => {
    const d = dev();
    const ctx = await d.context(4);
    for (const log2 of [R.Q_SIZE_MIN, R.Q_SIZE_MAX]) {
      const queue = await d.queue(q, log2);
      expect(await queue.status()).toBe(R.Q_STATUS_ENABLED);
      expect((await queue.run(await ctx.job(cmd.nop()))).status).toBe(R.JOB_OK);
      await queue.disable();
    }
  });

  test.each(QUEUES)('queue %i: wraparound of a 2-entry ring (free-running HEAD/TAIL)', async (q) => {
    const d = dev();
    const ctx = await d.context(5);
    const queue = await d.queue(q, 1);
    const buf = await ctx.alloc(8 * 10);
    for (let round = 0; round < 5; round += 1) {
      const jobs = [];
      for (let k = 0; k < 2; k += 1) {
        const i = round * 2 + k;
        jobs.push(await ctx.job(cmd.fence(buf + BigInt(8 * i), BigInt(i + 1)), { userData: BigInt(1000 + i) }));
      }
      const idx = await queue.submit(...jobs);
      await queue.waitHead(round * 2 + 2);
      for (const [k, i] of idx.entries()) {
        const r = await queue.result(i);
        expect(r.status).toBe(R.JOB_OK);
        expect(r.userData).toBe(BigInt(1000 + round * 2 + k));
      }
    }
    expect(await queue.head()).toBe(10);
    expect(await d.readQ(q, R.REG_Q_TAIL)).toBe(10);
    const fences = await ctx.read(buf, 80);
    for (let i = 0; i < 10; i += 1) expect(fences.readBigUInt64LE(8 * i)).toBe(BigInt(i + 1));
  });

  test.each(QUEUES)('queue %i: a full ring (Q_TAIL - Q_HEAD = 2^Q_SIZE) is accepted', async (q) => {
    const d = dev();
    const ctx = await d.context(6);
    const queue = await d.queue(q, 2);
    const jobs = [];
    for (let i = 0; i < 4; i += 1) jobs.push(await ctx.job(cmd.nop()));
    await queue.submit(...jobs);
    await queue.waitHead(4);
    expect(await queue.status()).toBe(R.Q_STATUS_ENABLED);
  });

  test.each(QUEUES)('queue %i: jobs run one at a time, in order', async (q) => {
    const d = dev();
    const ctx = await d.context(7);
    const queue = await d.queue(q, 4);
    const x = await ctx.alloc(8);
    const seen = await ctx.alloc(8 * 8);
    await ctx.write(x, Buffer.alloc(8));
    const jobs = [];
    // job i copies X (the previous job's fence) to seen[i], then fences X = i + 1
    for (let i = 0; i < 8; i += 1) jobs.push(await ctx.job([cmd.copy(x, seen + BigInt(8 * i), 8), cmd.fence(x, BigInt(i + 1))]));
    await queue.submit(...jobs);
    await queue.waitHead(8);
    const s = await ctx.read(seen, 64);
    expect(Array.from({ length: 8 }, (_, i) => s.readBigUInt64LE(8 * i))).toEqual(Array.from({ length: 8 }, (_, i) => BigInt(i)));
    for (let i = 1; i < 8; i += 1) {
      expect((await queue.result(i)).startNs).toBeGreaterThanOrEqual((await queue.result(i - 1)).endNs);
    }
  });
});

describe('5.2 Q_STATUS and queue errors', () => {
  const dev = useOssa();

  test.each(QUEUES)('queue %i: BAD_RING (code 1) on enable with Q_SIZE outside 1..12', async (q) => {
    const d = dev();
    const ring = await d.mem.allocZeroed(4096);
    for (const size of [0, 13, 0xffff_ffff]) {
      await d.write(R.REG_IRQ_STATUS, 0xffff_ffff);
      await d.writeQ(q, R.REG_Q_BASE_LO, ring);
      await d.writeQ(q, R.REG_Q_SIZE, size);
      await d.writeQ(q, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
      const st = await waitQueueError(d, q);
      expect(st & R.Q_STATUS_ERROR, `Q_SIZE ${size}`).toBe(R.Q_STATUS_ERROR);
      expect(statusCode(st)).toBe(R.Q_ERR_BAD_RING);
      expect(st & (R.Q_STATUS_ENABLED | R.Q_STATUS_BUSY)).toBe(0);
      expect(await d.readQ(q, R.REG_Q_CONTROL)).toBe(0);
      expect((await d.read(R.REG_IRQ_STATUS)) & R.IRQ_QUEUE_ERROR(q)).toBe(R.IRQ_QUEUE_ERROR(q));
    }
    expect(R.Q_ERR_BAD_RING).toBe(1);
  });

  test.each(QUEUES)('queue %i: enabling again clears ERROR and ERROR_CODE', async (q) => {
    const d = dev();
    await d.writeQ(q, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE); // Q_SIZE 0: BAD_RING
    await waitQueueError(d, q);
    const queue = await d.queue(q, 2);
    expect(await queue.status()).toBe(R.Q_STATUS_ENABLED);
    const ctx = await d.context(1);
    expect((await queue.run(await ctx.job(cmd.nop()))).status).toBe(R.JOB_OK);
  });

  test.each(QUEUES)('queue %i: TAIL_OVERRUN (code 2) when Q_TAIL - Q_HEAD exceeds the ring size', async (q) => {
    const d = dev();
    const queue = await d.queue(q, 2);
    await queue.doorbell(5);
    const st = await waitQueueError(d, q);
    expect(statusCode(st)).toBe(R.Q_ERR_TAIL_OVERRUN);
    expect(st & (R.Q_STATUS_ENABLED | R.Q_STATUS_ERROR)).toBe(R.Q_STATUS_ERROR);
    expect(await d.readQ(q, R.REG_Q_CONTROL)).toBe(0);
    expect((await d.read(R.REG_IRQ_STATUS)) & R.IRQ_QUEUE_ERROR(q)).toBe(R.IRQ_QUEUE_ERROR(q));
    expect(R.Q_ERR_TAIL_OVERRUN).toBe(2);
  });

  test.each(QUEUES)('queue %i: a queue error abandons the job in progress without write-back (TAIL_OVERRUN mid-job)', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(q, 2);
    const marks = await ctx.allocZeroed(16);
    await d.write(R.REG_INJECT_DELAY_US, 1000);
    // 3 slices of 64 commands: the first fence in slice 1, the second in slice 3
    await queue.submit(await ctx.job([cmd.fence(marks, 0x1111n), ...Array.from({ length: 150 }, () => cmd.nop()), cmd.fence(marks + 8n, 0x2222n)]));
    let first = 0n;
    for (let i = 0; i < 2000 && first === 0n; i += 1) {
      first = await ctx.readU64(marks);
      if (first === 0n && i % 8 === 7) await d.stepClockIfPending();
    }
    expect(first, 'the first slice ran').toBe(0x1111n);
    await queue.doorbell(100);
    expect(statusCode(await waitQueueError(d, q))).toBe(R.Q_ERR_TAIL_OVERRUN);
    for (let i = 0; i < 10; i += 1) await d.stepClockIfPending();
    await d.qt.clockStep(10_000_000);
    expect(await ctx.readU64(marks + 8n), 'the rest of the job did not run').toBe(0n);
    expect((await queue.result(0)).status, 'no write-back').toBe(0xeeee_eeee);
    expect(await queue.head()).toBe(0);
  });

  test.each(QUEUES)('queue %i: TAIL_OVERRUN when Q_TAIL moves backwards (Q_TAIL - Q_HEAD wraps)', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(q, 2);
    await queue.submit(await ctx.job(cmd.nop()), await ctx.job(cmd.nop()));
    await queue.waitHead(2);
    await queue.doorbell(1); // 1 - 2 = 0xffffffff
    expect(statusCode(await waitQueueError(d, q))).toBe(R.Q_ERR_TAIL_OVERRUN);
  });

  test.each(QUEUES)('queue %i: RING_DMA (code 3) with the ring at an unassigned bus address', async (q) => {
    const d = dev();
    await d.writeQ(q, R.REG_Q_BASE_LO, UNASSIGNED_BUS_ADDR % 2 ** 32);
    await d.writeQ(q, R.REG_Q_BASE_HI, Math.floor(UNASSIGNED_BUS_ADDR / 2 ** 32));
    await d.writeQ(q, R.REG_Q_SIZE, 2);
    await d.writeQ(q, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
    expect(await d.readQ(q, R.REG_Q_STATUS)).toBe(R.Q_STATUS_ENABLED);
    await d.writeQ(q, R.REG_Q_TAIL, 1);
    const st = await waitQueueError(d, q);
    expect(statusCode(st)).toBe(R.Q_ERR_RING_DMA);
    expect(st & R.Q_STATUS_ENABLED).toBe(0);
    expect(await d.readQ(q, R.REG_Q_HEAD)).toBe(0);
    expect((await d.read(R.REG_IRQ_STATUS)) & R.IRQ_QUEUE_ERROR(q)).toBe(R.IRQ_QUEUE_ERROR(q));
    expect(R.Q_ERR_RING_DMA).toBe(3);
  });

  test.each(QUEUES)('queue %i: RING_DMA when writing the results fails (ring in the read-only BIOS ROM)', async (q) => {
    const d = dev();
    // find a 64-byte block of zeroes in the ROM below 4 GiB: read fine, writes fail on the bus
    const romBase = 0xfffc_0000;
    const rom = await d.qt.read(romBase, 0x4_0000);
    let slot = -1;
    for (let off = 0; off < rom.length && slot < 0; off += 64) if (rom.subarray(off, off + 64).every((b) => b === 0)) slot = off;
    expect(slot, 'a zeroed block in the ROM').toBeGreaterThanOrEqual(0);
    const ring = romBase + slot;
    await d.qt.writel(ring, 0x1234_5678);
    expect(await d.qt.readl(ring), 'the ROM is read-only').toBe(0);
    await d.writeQ(q, R.REG_Q_BASE_LO, ring);
    await d.writeQ(q, R.REG_Q_BASE_HI, 0);
    await d.writeQ(q, R.REG_Q_SIZE, 1);
    await d.writeQ(q, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
    await d.writeQ(q, R.REG_Q_TAIL, 1); // an all-zero descriptor: a job that completes INVALID_DESCRIPTOR
    const st = await waitQueueError(d, q);
    expect(statusCode(st)).toBe(R.Q_ERR_RING_DMA);
    expect(await d.readQ(q, R.REG_Q_HEAD)).toBe(0);
  });

  test.each(QUEUES)('queue %i: RING_DMA with bus mastering disabled (no DMA without Bus Master Enable)', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(q, 2);
    await queue.writeDescriptor(0, await ctx.job(cmd.nop()));
    await d.pci.setBusMaster(false);
    try {
      await queue.doorbell(1);
      const st = await waitQueueError(d, q);
      expect(statusCode(st)).toBe(R.Q_ERR_RING_DMA);
      expect(await queue.head()).toBe(0);
    } finally {
      await d.pci.setBusMaster(true);
    }
    expect((await queue.result(0)).status, 'no write-back').toBe(0xeeee_eeee);
  });

  test.each(QUEUES)('queue %i: Q_STATUS.BUSY while jobs are pending (held by INJECT_HANG)', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(q, 2);
    await d.write(R.REG_INJECT_HANG, 1 << q);
    await queue.submit(await ctx.job(cmd.nop()), await ctx.job(cmd.nop()));
    await queue.expectHeadStays(0, 50);
    expect(await queue.status()).toBe(R.Q_STATUS_ENABLED | R.Q_STATUS_BUSY);
    await d.write(R.REG_INJECT_HANG, 0);
    await queue.waitHead(2);
    expect(await queue.status()).toBe(R.Q_STATUS_ENABLED);
  });

  test.each(QUEUES)('queue %i: disable stops at once; the running job is abandoned without write-back, its effects so far remain', async (q) => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(q, 2);
    const marks = await ctx.allocZeroed(16);
    // 3 slices of 64 commands: the first fence is in slice 1, the second in slice 3
    const cmds = [cmd.fence(marks, 0x1111n), ...Array.from({ length: 150 }, () => cmd.nop()), cmd.fence(marks + 8n, 0x2222n)];
    await d.write(R.REG_INJECT_DELAY_US, 1000);
    await queue.submit(await ctx.job(cmds, { userData: 7n }));
    // run the first slice (stepping device time over any delay before it)
    let first = 0n;
    for (let i = 0; i < 2000 && first === 0n; i += 1) {
      first = await ctx.readU64(marks);
      if (first === 0n && i % 8 === 7) await d.stepClockIfPending();
    }
    expect(first, 'the first slice ran').toBe(0x1111n);
    await queue.disable();
    for (let i = 0; i < 10; i += 1) await d.stepClockIfPending();
    await d.qt.clockStep(10_000_000);
    expect(await ctx.readU64(marks + 8n), 'the job stopped').toBe(0n);
    const r = await queue.result(0);
    expect(r.status, 'no write-back').toBe(0xeeee_eeee);
    expect(await queue.head()).toBe(0);
    expect(await queue.status()).toBe(0);
  });
});

describe('5.3 job descriptor write-back', () => {
  const dev = useOssa();

  test.each(QUEUES)('queue %i: STATUS OK, ERROR_OFFSET 0, START_NS <= END_NS within device time, 0x38 written 0; bytes 0x00-0x1f (USER_DATA) untouched', async (q) => {
    const d = dev();
    const ctx = await d.context(9);
    const queue = await d.queue(q, 2);
    const desc = encodeDescriptor(await ctx.job([cmd.nop(), cmd.nop()], { userData: 0xfeed_face_cafe_beefn }), 0xee);
    await d.qt.clockStep(1_000_000);
    const before = await d.time();
    const r = await queue.run(desc);
    await d.qt.clockStep(5);
    const after = await d.time();
    expect(r.status).toBe(R.JOB_OK);
    expect(r.errorOffset).toBe(0);
    expect(r.startNs).toBeGreaterThanOrEqual(before);
    expect(r.endNs).toBeGreaterThanOrEqual(r.startNs);
    expect(r.endNs).toBeLessThanOrEqual(after);
    expect(r.tail).toBe(0n);
    expect(r.userData).toBe(0xfeed_face_cafe_beefn);
    expect(r.driverHalf).toEqual(desc.subarray(0, R.DESC_RESULT));
  });

  test('START_NS and END_NS measure device time across injected delays', async () => {
    const d = dev();
    const ctx = await d.context(9);
    const queue = await d.queue(0, 2);
    await d.write(R.REG_INJECT_DELAY_US, 50);
    const r = await queue.run(await ctx.job(Array.from({ length: 130 }, () => cmd.nop())), { stepClock: true });
    expect(r.status).toBe(R.JOB_OK);
    expect(r.endNs - r.startNs).toBeGreaterThanOrEqual(2n * 50_000n);
  });

  test('the device writes only bytes 0x20-0x3f of the descriptor, and not the neighbouring slots', async () => {
    const d = dev();
    const ctx = await d.context(9);
    const queue = await d.queue(0, 2);
    await d.qt.memset(queue.ring, 4 * 64, 0xcc);
    await queue.writeDescriptor(0, encodeDescriptor(await ctx.job(cmd.nop()), 0xcc));
    await queue.writeDescriptor(1, encodeDescriptor(await ctx.job(cmd.nop()), 0xcc));
    await queue.doorbell(2);
    await queue.waitHead(2);
    const ring = await d.qt.read(queue.ring, 4 * 64);
    expect(ring.subarray(128, 256)).toEqual(Buffer.alloc(128, 0xcc));
    expect((await queue.result(1)).status).toBe(R.JOB_OK);
  });
});
