/**
 * Datasheet 4.3 CAPS.DMA_BITS and section 9: the device drives `dma-bits`
 * bits of bus address. An access at or above 2^dma-bits is not made and
 * fails as a bus error of whatever it was for: a descriptor (RING_DMA), a
 * context-table entry (INVALID_CONTEXT), a page-table read (WALK_ERROR), a
 * job's data (BUS_ERROR, in the page that is out of reach). Each case runs
 * on a narrow device and on a full-width one with the same guest RAM above
 * 4 GiB, where the same access succeeds: the refusal is dma-bits', not the
 * setup's.
 */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Ossa } from './device.js';
import { logCount, pollUntil, statusCode, useOssa, waitQueueError } from './harness.js';
import { PAGE, PERM_RW } from './memory.js';
import { QTest } from './qtest.js';
import { R } from './regs.js';

/** RAM at 4 GiB: q35 puts what is above 2 GiB of a larger guest there. */
const HIGH = 0x1_0000_0000;
const MEMORY = '4608M';
const SRC = 0x5352_4353_5352_4353n;

interface Fault {
  cause: number;
  write: boolean;
  addr: bigint;
}

async function lastFault(d: Ossa): Promise<Fault> {
  const info = await d.read(R.REG_FAULT_INFO);
  expect((info & R.FAULT_INFO_VALID) !== 0, 'FAULT_INFO.VALID').toBe(true);
  return {
    cause: (info & R.FAULT_INFO_CAUSE_MASK) >>> R.FAULT_INFO_CAUSE_SHIFT,
    write: (info & R.FAULT_INFO_WRITE) !== 0,
    addr: await d.faultAddr(),
  };
}

/** The guest-error lines QEMU logged since `before` that name dma-bits. */
async function dmaBitsLines(d: Ossa, before: number): Promise<string[]> {
  return (await d.qt.guestErrors()).slice(before).filter((l) => /beyond the \d+-bit bus addresses the device drives \(dma-bits\)/.test(l));
}

function suite(bits: number): void {
  const narrow = bits < 64;
  const dev = useOssa({ memory: MEMORY, deviceOptions: `fault-injection=on${narrow ? `,dma-bits=${bits}` : ''}` });

  test(`CAPS.DMA_BITS reads ${bits}`, async () => {
    const caps = await dev().read(R.REG_CAPS);
    expect((caps & R.CAPS_DMA_BITS_MASK) >>> R.CAPS_DMA_BITS_SHIFT).toBe(bits);
  });

  test.each([
    ['writing', true],
    ['reading', false],
  ] as const)(`COPY %s a page at 4 GiB ${narrow ? 'fails with BUS_ERROR in that page, logged' : 'runs'}`, async (_, toHigh) => {
    const d = dev();
    const ctx = await d.context(1);
    const low = await ctx.alloc(PAGE);
    const high = ctx.reserve(PAGE);
    await ctx.pt.mapPages(high, [HIGH], PERM_RW);
    await d.qt.writeq(HIGH + 0x40, toHigh ? 0n : SRC);
    await ctx.write(low + 0x40n, Buffer.from(new BigUint64Array([toHigh ? SRC : 0n]).buffer));
    const [from, to] = toHigh ? [low, high] : [high, low];
    const logged = await logCount(d);
    const r = await d.run(ctx, [cmd.copy(from + 0x40n, to + 0x40n, 8)]);
    const dest = toHigh ? await d.qt.readq(HIGH + 0x40) : (await ctx.read(low + 0x40n, 8)).readBigUInt64LE(0);
    if (narrow) {
      expect(r.status).toBe(R.JOB_MMU_FAULT);
      expect(await lastFault(d)).toEqual({ cause: R.FAULT_BUS_ERROR, write: toHigh, addr: high + 0x40n });
      expect(dest, 'the destination is untouched').toBe(0n);
    } else {
      expect(r.status).toBe(R.JOB_OK);
      expect(dest).toBe(SRC);
    }
    expect(await dmaBitsLines(d, logged)).toHaveLength(narrow ? 1 : 0);
  });

  test(`a level-1 table at 4 GiB ${narrow ? 'is a WALK_ERROR' : 'is walked (its empty entry: NOT_PRESENT)'}`, async () => {
    const d = dev();
    const ctx = await d.context(2);
    const va = await ctx.alloc(PAGE, PERM_RW, { va: 0x30_0000_0000n });
    await d.qt.memset(HIGH, PAGE, 0);
    await ctx.pt.setRaw(va, 2, BigInt(HIGH) | BigInt(R.PTE_VALID));
    const logged = await logCount(d);
    const r = await d.run(ctx, [cmd.fill(va, 4, 1)]);
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    expect(await lastFault(d)).toEqual({ cause: narrow ? R.FAULT_WALK_ERROR : R.FAULT_NOT_PRESENT, write: true, addr: va });
    expect(await dmaBitsLines(d, logged)).toHaveLength(narrow ? 1 : 0);
  });

  test(`a context table at 4 GiB ${narrow ? 'cannot be read: INVALID_CONTEXT, nothing ran' : 'is read: the job runs'}`, async () => {
    const d = dev();
    const ctx = await d.context(3);
    const mark = await ctx.allocZeroed(8);
    const desc = await ctx.job([cmd.fence(mark, SRC)]);
    await d.qt.write(HIGH, await d.qt.read(d.ctxTable.base, 64 * R.CTX_ENTRY_SIZE));
    await d.write(R.REG_CTX_TABLE_LO, 0);
    await d.write(R.REG_CTX_TABLE_HI, 1);
    const logged = await logCount(d);
    const r = await (await d.queue(0)).run(desc);
    expect(r.status).toBe(narrow ? R.JOB_INVALID_CONTEXT : R.JOB_OK);
    expect((await ctx.read(mark, 8)).readBigUInt64LE(0)).toBe(narrow ? 0n : SRC);
    expect(await dmaBitsLines(d, logged)).toHaveLength(narrow ? 1 : 0);
  });

  test(`a ring at 4 GiB ${narrow ? 'cannot be read: RING_DMA' : 'is read (a zeroed descriptor: INVALID_DESCRIPTOR)'}`, async () => {
    const d = dev();
    await d.qt.memset(HIGH, 4 * R.DESC_SIZE, 0);
    const logged = await logCount(d);
    await d.writeQ(1, R.REG_Q_BASE_LO, 0);
    await d.writeQ(1, R.REG_Q_BASE_HI, 1);
    await d.writeQ(1, R.REG_Q_SIZE, 2);
    await d.writeQ(1, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
    await d.writeQ(1, R.REG_Q_TAIL, 1);
    if (narrow) {
      expect(statusCode(await waitQueueError(d, 1))).toBe(R.Q_ERR_RING_DMA);
      expect(await d.readQ(1, R.REG_Q_HEAD)).toBe(0);
    } else {
      expect(await pollUntil(async () => (await d.readQ(1, R.REG_Q_HEAD)) === 1)).toBe(true);
      expect(await d.qt.readl(HIGH + R.DESC_STATUS)).toBe(R.JOB_INVALID_DESCRIPTOR);
    }
    expect(await dmaBitsLines(d, logged)).toHaveLength(narrow ? 1 : 0);
  });
}

describe('dma-bits=32: nothing at or above 4 GiB is reached', () => suite(32));
describe('dma-bits=64 (the default): the same accesses at 4 GiB succeed', () => suite(64));

describe('dma-bits=33: a run that crosses 8 GiB', () => {
  // 7 GiB of guest RAM: 2 GiB below 4 GiB, the rest from 4 GiB to 9 GiB.
  const dev = useOssa({ memory: '7G', deviceOptions: 'fault-injection=on,dma-bits=33' });

  test('FILL over two bus-contiguous pages, the second at 8 GiB: the first is filled, BUS_ERROR in the second', async () => {
    const d = dev();
    const ctx = await d.context(4);
    const edge = 2 ** 33;
    const va = ctx.reserve(2 * PAGE);
    await ctx.pt.mapPages(va, [edge - PAGE, edge], PERM_RW);
    await d.qt.memset(edge - PAGE, 2 * PAGE, 0);
    const r = await d.run(ctx, [cmd.fill(va, 2 * PAGE, 0x6666_6666)]);
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    expect(await lastFault(d)).toEqual({ cause: R.FAULT_BUS_ERROR, write: true, addr: va + BigInt(PAGE) });
    const first = await d.qt.read(edge - PAGE, PAGE);
    expect(first.every((b) => b === 0x66)).toBe(true);
    expect((await d.qt.read(edge, PAGE)).every((b) => b === 0)).toBe(true);
  });
});

describe('dma-bits outside 32..64', () => {
  test.each([31, 65, 0])('dma-bits=%i: QEMU refuses the device and says why', async (bits) => {
    await expect(QTest.start({ deviceOptions: `dma-bits=${bits}` })).rejects.toThrow(
      new RegExp(`dma-bits=${bits} is outside 32\\.\\.64`),
    );
  });
});
