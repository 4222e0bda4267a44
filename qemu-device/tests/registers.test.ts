/** Datasheet section 4: BAR0 registers (global ones; queues in queues.test.ts). */
import { describe, expect, test } from 'vitest';
import { hex, logCount, useOssa, waitQueueError } from './harness.js';
import { unlistedOffsets } from './layout.js';
import { R } from './regs.js';

describe('4.1 global registers', () => {
  const dev = useOssa();

  test('ID reads 0x4153534f: the bytes "OSSA" in memory order', async () => {
    const v = await dev().read(R.REG_ID);
    expect(v).toBe(0x4153534f);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    expect(b.toString('latin1')).toBe('OSSA');
  });

  test('VERSION reads 0x00010001: MAJOR 1, MINOR 1 (4.2)', async () => {
    const v = await dev().read(R.REG_VERSION);
    expect(v).toBe(0x0001_0001);
    expect(v >>> R.VERSION_MAJOR_SHIFT).toBe(1);
    expect(v & R.VERSION_MINOR_MASK).toBe(1);
  });

  test('CAPS: NUM_QUEUES 2, CONTEXTS_LOG2 6, VA_BITS 39, FAULT_INJECTION 1, DMA_BITS 64 (4.3)', async () => {
    const v = await dev().read(R.REG_CAPS);
    expect(v & R.CAPS_NUM_QUEUES_MASK).toBe(2);
    expect((v & R.CAPS_CONTEXTS_LOG2_MASK) >>> R.CAPS_CONTEXTS_LOG2_SHIFT).toBe(6);
    expect((v & R.CAPS_VA_BITS_MASK) >>> R.CAPS_VA_BITS_SHIFT).toBe(39);
    expect(v & R.CAPS_FAULT_INJECTION).toBe(R.CAPS_FAULT_INJECTION);
    expect((v & R.CAPS_DMA_BITS_MASK) >>> R.CAPS_DMA_BITS_SHIFT).toBe(64);
    expect(v >>> 0).toBe(0x8127_0602);
  });

  test('RESET is write-only: reads 0', async () => {
    expect(await dev().read(R.REG_RESET)).toBe(0);
  });

  test('SCRATCH is RW, resets to 0, and has no effect', async () => {
    const d = dev();
    expect(await d.read(R.REG_SCRATCH)).toBe(0);
    for (const v of [0xffff_ffff, 0x1234_5678, 0x8000_0001, 0]) {
      await d.write(R.REG_SCRATCH, v);
      expect(await d.read(R.REG_SCRATCH)).toBe(v);
    }
    await d.write(R.REG_SCRATCH, 0xa5a5_a5a5);
    expect(await d.read(R.REG_ID)).toBe(R.ID_MAGIC);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(0);
  });

  const readOnly: Array<[string, number]> = [
    ['ID', R.REG_ID],
    ['VERSION', R.REG_VERSION],
    ['CAPS', R.REG_CAPS],
    ['TIME_LO', R.REG_TIME_LO],
    ['TIME_HI', R.REG_TIME_HI],
    ['FAULT_ADDR_LO', R.REG_FAULT_ADDR_LO],
    ['FAULT_ADDR_HI', R.REG_FAULT_ADDR_HI],
    ['FAULT_COUNT', R.REG_FAULT_COUNT],
  ];
  test.each(readOnly)('%s is read-only: a write is ignored and logged as a guest error', async (_name, off) => {
    const d = dev();
    await d.read(R.REG_TIME_LO); // latch TIME_HI
    const before = await d.read(off);
    const logs = await logCount(d);
    await d.write(off, 0x5a5a_5a5a);
    expect(await logCount(d)).toBeGreaterThan(logs);
    await d.write(off, 0);
    if (off !== R.REG_TIME_LO) expect(await d.read(off)).toBe(before);
    else expect(await d.read(off)).toBe(before); // the clock does not move under qtest unless stepped
  });

  test('TIME: advances exactly with the virtual clock (clock_step) and never goes backwards', async () => {
    const d = dev();
    const t0 = await d.time();
    expect(await d.time()).toBe(t0); // the virtual clock is stopped under qtest
    await d.qt.clockStep(1000);
    const t1 = await d.time();
    expect(t1 - t0).toBe(1000n);
    await d.qt.clockStep(123_456_789);
    const t2 = await d.time();
    expect(t2 - t1).toBe(123_456_789n);
    await d.softReset();
    expect(await d.time()).toBeGreaterThanOrEqual(t2);
  });

  test('TIME never goes backwards across a pause (QMP stop / cont)', async () => {
    const d = dev();
    await d.qt.clockStep(5000);
    const t0 = await d.time();
    await d.qt.qmp.execute('stop');
    const t1 = await d.time();
    await d.qt.qmp.execute('cont');
    await d.qt.clockStep(100);
    const t2 = await d.time();
    expect(t1).toBeGreaterThanOrEqual(t0);
    expect(t2).toBeGreaterThan(t1);
  });

  test('TIME_HI is latched by a TIME_LO read', async () => {
    const d = dev();
    const lo0 = await d.read(R.REG_TIME_LO);
    const hi0 = await d.read(R.REG_TIME_HI);
    await d.qt.clockStep(2n ** 33n); // bits 63:32 move by 2
    expect(await d.read(R.REG_TIME_HI), 'TIME_HI without a TIME_LO read keeps the latched value').toBe(hi0);
    const lo1 = await d.read(R.REG_TIME_LO);
    const hi1 = await d.read(R.REG_TIME_HI);
    const before = (BigInt(hi0) << 32n) | BigInt(lo0);
    const after = (BigInt(hi1) << 32n) | BigInt(lo1);
    expect(after - before).toBe(2n ** 33n);
  });

  test('IRQ_STATUS is W1C and resets to 0; writes cannot set bits', async () => {
    const d = dev();
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(0);
    await d.write(R.REG_IRQ_STATUS, 0xffff_ffff);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(0);
    // raise QUEUE_ERROR(0) and QUEUE_ERROR(1): enable with Q_SIZE 0 (BAD_RING)
    await d.writeQ(0, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
    await d.writeQ(1, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
    await waitQueueError(d, 0);
    await waitQueueError(d, 1);
    const both = R.IRQ_QUEUE_ERROR(0) | R.IRQ_QUEUE_ERROR(1);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(both);
    await d.write(R.REG_IRQ_STATUS, 0);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(both);
    await d.write(R.REG_IRQ_STATUS, R.IRQ_QUEUE_ERROR(0));
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_ERROR(1));
    await d.write(R.REG_IRQ_STATUS, 0xffff_ffff);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(0);
  });

  test('IRQ_MASK is RW over the cause bits (0x10303); reserved bits read 0', async () => {
    const d = dev();
    expect(await d.read(R.REG_IRQ_MASK)).toBe(0);
    await d.write(R.REG_IRQ_MASK, 0xffff_ffff);
    expect(await d.read(R.REG_IRQ_MASK)).toBe(R.IRQ_ALL);
    expect(R.IRQ_ALL).toBe(0x10303);
    await d.write(R.REG_IRQ_MASK, R.IRQ_MMU_FAULT | R.IRQ_QUEUE_JOB(1));
    expect(await d.read(R.REG_IRQ_MASK)).toBe(0x10002);
    await d.write(R.REG_IRQ_MASK, 0);
    expect(await d.read(R.REG_IRQ_MASK)).toBe(0);
  });

  test('CTX_TABLE_LO is RW with bits 11:0 reading 0; CTX_TABLE_HI is RW', async () => {
    const d = dev();
    await d.softReset();
    expect(await d.read(R.REG_CTX_TABLE_LO)).toBe(0);
    expect(await d.read(R.REG_CTX_TABLE_HI)).toBe(0);
    await d.write(R.REG_CTX_TABLE_LO, 0xffff_ffff);
    expect(await d.read(R.REG_CTX_TABLE_LO)).toBe(0xffff_f000);
    await d.write(R.REG_CTX_TABLE_LO, 0x1234_5abc);
    expect(await d.read(R.REG_CTX_TABLE_LO)).toBe(0x1234_5000);
    for (const v of [0xffff_ffff, 0x0000_0001, 0]) {
      await d.write(R.REG_CTX_TABLE_HI, v);
      expect(await d.read(R.REG_CTX_TABLE_HI)).toBe(v);
    }
  });

  test('CTX_STOPPED_LO/HI reset to 0 and cannot be set by writes (W1C)', async () => {
    const d = dev();
    for (const off of [R.REG_CTX_STOPPED_LO, R.REG_CTX_STOPPED_HI]) {
      expect(await d.read(off)).toBe(0);
      await d.write(off, 0xffff_ffff);
      expect(await d.read(off)).toBe(0);
    }
  });

  test('FAULT_ADDR_LO/HI, FAULT_INFO, FAULT_COUNT reset to 0; FAULT_INFO cannot be set by writes', async () => {
    const d = dev();
    for (const off of [R.REG_FAULT_ADDR_LO, R.REG_FAULT_ADDR_HI, R.REG_FAULT_INFO, R.REG_FAULT_COUNT]) {
      expect(await d.read(off), hex(off)).toBe(0);
    }
    await d.write(R.REG_FAULT_INFO, 0xffff_ffff);
    expect(await d.read(R.REG_FAULT_INFO)).toBe(0);
  });

  test('unlisted offsets read 0', async () => {
    const d = dev();
    const offs = unlistedOffsets(true);
    const values = await Promise.all(offs.map((off) => d.read(off)));
    const nonzero = offs.filter((_, i) => values[i] !== 0).map(hex);
    expect(nonzero).toEqual([]);
  });

  test('writes to unlisted offsets are ignored and each is logged', async () => {
    const d = dev();
    const offs = unlistedOffsets(true);
    const logs = await logCount(d);
    await Promise.all(offs.map((off) => d.write(off, 0xffff_ffff)));
    expect(await logCount(d)).toBeGreaterThanOrEqual(logs + offs.length);
    const values = await Promise.all(offs.map((off) => d.read(off)));
    expect(offs.filter((_, i) => values[i] !== 0).map(hex)).toEqual([]);
    // and did not reach a listed register
    expect(await d.read(R.REG_SCRATCH)).toBe(0);
    expect(await d.read(R.REG_IRQ_MASK)).toBe(0);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(0);
    expect(await d.readQ(0, R.REG_Q_STATUS)).toBe(0);
    expect(await d.readQ(1, R.REG_Q_STATUS)).toBe(0);
    expect(await d.read(R.REG_INJECT_HANG)).toBe(0);
    expect(await d.read(R.REG_INJECT_FAIL)).toBe(0);
  });

  test('reads of unlisted offsets are logged', async () => {
    const d = dev();
    const logs = await logCount(d);
    await d.read(0x00c);
    await d.read(0xffc);
    expect(await logCount(d)).toBeGreaterThanOrEqual(logs + 2);
  });

  test('8- and 16-bit accesses are rejected and have no effect (SCRATCH, RESET)', async () => {
    const d = dev();
    const base = d.bar0;
    await d.write(R.REG_SCRATCH, 0x1122_3344);
    await d.qt.writeb(base + R.REG_SCRATCH, 0xff);
    await d.qt.writeb(base + R.REG_SCRATCH + 3, 0xff);
    await d.qt.writew(base + R.REG_SCRATCH, 0xffff);
    await d.qt.writew(base + R.REG_SCRATCH + 2, 0xffff);
    expect(await d.read(R.REG_SCRATCH)).toBe(0x1122_3344);
    // the magic split in halves and bytes does not reset the device
    await d.qt.writew(base + R.REG_RESET, R.RESET_MAGIC & 0xffff);
    await d.qt.writew(base + R.REG_RESET + 2, R.RESET_MAGIC >>> 16);
    for (let i = 0; i < 4; i += 1) await d.qt.writeb(base + R.REG_RESET + i, (R.RESET_MAGIC >>> (8 * i)) & 0xff);
    expect(await d.read(R.REG_SCRATCH)).toBe(0x1122_3344);
  });

  test('misaligned 32-bit accesses are rejected and have no effect', async () => {
    const d = dev();
    await d.write(R.REG_SCRATCH, 0x1122_3344);
    await d.qt.writel(d.bar0 + R.REG_SCRATCH + 2, 0xffff_ffff);
    await d.qt.writel(d.bar0 + R.REG_SCRATCH - 2, 0xffff_ffff);
    await d.qt.writel(d.bar0 + R.REG_RESET + 1, R.RESET_MAGIC);
    expect(await d.read(R.REG_SCRATCH)).toBe(0x1122_3344);
  });

  test('a 16-bit read of TIME_LO does not latch TIME_HI', async () => {
    const d = dev();
    await d.read(R.REG_TIME_LO);
    const hi0 = await d.read(R.REG_TIME_HI);
    await d.qt.clockStep(2n ** 33n);
    await d.qt.readw(d.bar0 + R.REG_TIME_LO);
    await d.qt.readb(d.bar0 + R.REG_TIME_LO);
    expect(await d.read(R.REG_TIME_HI)).toBe(hi0);
    await d.read(R.REG_TIME_LO);
    expect(await d.read(R.REG_TIME_HI)).not.toBe(hi0);
  });
});
