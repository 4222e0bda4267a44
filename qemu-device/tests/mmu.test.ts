/** Datasheet section 7: the device MMU, faults, FAULT_* registers and stopped contexts. */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Context, JobResult, Ossa } from './device.js';
import { split64, useOssa } from './harness.js';
import { PAGE, PERM_R, PERM_RW, PERM_W, UNASSIGNED_BUS_ADDR } from './memory.js';
import { R } from './regs.js';

interface FaultInfo {
  context: number;
  queue: number;
  write: boolean;
  cause: number;
  valid: boolean;
  raw: number;
}

async function faultInfo(d: Ossa): Promise<FaultInfo> {
  const raw = await d.read(R.REG_FAULT_INFO);
  return {
    context: raw & R.FAULT_INFO_CONTEXT_MASK,
    queue: (raw >>> R.FAULT_INFO_QUEUE_SHIFT) & 1,
    write: (raw & R.FAULT_INFO_WRITE) !== 0,
    cause: (raw & R.FAULT_INFO_CAUSE_MASK) >>> R.FAULT_INFO_CAUSE_SHIFT,
    valid: (raw & R.FAULT_INFO_VALID) !== 0,
    raw,
  };
}

/** Runs a job expected to fault; checks the job, the record, the stopped bit and the IRQ cause. */
async function expectFault(
  d: Ossa,
  ctx: Context,
  commands: Buffer[],
  want: { cause: number; write: boolean; addr?: bigint; errorOffset?: number; q?: number },
): Promise<JobResult> {
  const q = want.q ?? 0;
  const countBefore = await d.read(R.REG_FAULT_COUNT);
  const r = await d.run(ctx, commands, {}, q);
  expect(r.status, 'job status').toBe(R.JOB_MMU_FAULT);
  expect(r.errorOffset).toBe(want.errorOffset ?? 0);
  const info = await faultInfo(d);
  expect({ valid: info.valid, cause: info.cause, write: info.write, context: info.context, queue: info.queue }).toEqual({
    valid: true,
    cause: want.cause,
    write: want.write,
    context: ctx.id,
    queue: q,
  });
  if (want.addr !== undefined) expect(await d.faultAddr(), 'FAULT_ADDR').toBe(want.addr);
  expect(await d.read(R.REG_FAULT_COUNT)).toBe(countBefore + 1);
  expect((await d.ctxStopped()) & (1n << BigInt(ctx.id))).not.toBe(0n);
  expect((await d.read(R.REG_IRQ_STATUS)) & R.IRQ_MMU_FAULT).toBe(R.IRQ_MMU_FAULT);
  return r;
}

describe('7.2 page tables: translation and permissions', () => {
  const dev = useOssa();

  test('a page with READ can be read, a page with WRITE can be written', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const src = await ctx.alloc(PAGE, PERM_R);
    const dst = await ctx.alloc(PAGE, PERM_W);
    await ctx.write(src, Buffer.alloc(PAGE, 0x42));
    const r = await d.run(ctx, [cmd.copy(src, dst, PAGE)]);
    expect(r.status).toBe(R.JOB_OK);
    expect(await ctx.read(dst, PAGE)).toEqual(Buffer.alloc(PAGE, 0x42));
  });

  test('VAs across the whole 39-bit space, in different level-2 and level-1 slots', async () => {
    const d = dev();
    const ctx = await d.context(2);
    const low = await ctx.alloc(PAGE, PERM_RW, { va: 0n });
    const mid = await ctx.alloc(PAGE, PERM_RW, { va: 0x12_3456_7000n });
    const high = await ctx.alloc(PAGE, PERM_RW, { va: (1n << 39n) - BigInt(PAGE) });
    await ctx.write(low, Buffer.from('low page'));
    const r = await d.run(ctx, [cmd.copy(low, mid + 8n, 8), cmd.copy(mid + 8n, high + 0xff0n, 8)]);
    expect(r.status).toBe(R.JOB_OK);
    expect((await ctx.read(high + 0xff0n, 8)).toString()).toBe('low page');
  });

  test('translations are not cached: a change to a table takes effect at the next access', async () => {
    const d = dev();
    const ctx = await d.context(3);
    const va = await ctx.alloc(PAGE);
    const p1 = ctx.phys(va);
    const p2 = await d.mem.allocZeroed(PAGE);
    expect((await d.run(ctx, [cmd.fill(va, 16, 0x1111_1111)])).status).toBe(R.JOB_OK);
    await ctx.pt.map(va, p2, PERM_RW);
    expect((await d.run(ctx, [cmd.fill(va, 16, 0x2222_2222)])).status).toBe(R.JOB_OK);
    expect((await d.qt.read(p1, 4)).readUInt32LE(0)).toBe(0x1111_1111);
    expect((await d.qt.read(p2, 4)).readUInt32LE(0)).toBe(0x2222_2222);
    await ctx.pt.unmap(va);
    await expectFault(d, ctx, [cmd.fill(va, 16, 0x3333_3333)], { cause: R.FAULT_NOT_PRESENT, write: true, addr: va });
    expect((await d.qt.read(p2, 4)).readUInt32LE(0)).toBe(0x2222_2222);
  });
});

/** Lines of QEMU's log (the log trace backend writes there) of trace event `name`. */
async function traceLines(d: Ossa, name: string): Promise<string[]> {
  const re = new RegExp(`(^|:)${name} `);
  return (await d.qt.guestErrors()).filter((l) => re.test(l));
}

/** The 2 MiB regions (one level-0 table each) that [va, va + size) touches. */
function regions(va: bigint, size: number): bigint[] {
  const out: bigint[] = [];
  for (let r = va >> 21n; r <= (va + BigInt(size) - 1n) >> 21n; r += 1n) out.push(r);
  return out;
}

describe('7.2 the walk within a slice', () => {
  const dev = useOssa();
  const TRACED = ['ossa_mmu_table', 'ossa_mmu_translate'];

  test('a COPY from contiguous to scattered pages reads each level-0 table once and translates each page at most twice', async () => {
    const d = dev();
    const ctx = await d.context(4);
    // half a slice: the whole job runs in one slice
    const size = 512 * 1024;
    const pages = size / PAGE;
    // in two 2 MiB regions of their own: two level-0 tables
    const src = await ctx.alloc(size, PERM_R, { scattered: false, va: 0x4000_0000n });
    const dst = await ctx.alloc(size, PERM_W, { va: 0x4020_0000n });
    const job = await ctx.job([cmd.copy(src, dst, size)]);
    const before = await Promise.all(TRACED.map(async (t) => (await traceLines(d, t)).length));
    for (const name of TRACED) await d.qt.qmp.execute('trace-event-set-state', { name, enable: true });
    const q = await d.queue(0);
    const r = await q.run(job);
    for (const name of TRACED) await d.qt.qmp.execute('trace-event-set-state', { name, enable: false });
    expect(r.status).toBe(R.JOB_OK);
    const [tables, translations] = await Promise.all(TRACED.map(async (t, i) => (await traceLines(d, t)).length - (before[i] ?? 0)));
    const needed = new Set([...regions(BigInt(job.cmdAddr), R.CMD_COPY_SIZE), ...regions(src, size), ...regions(dst, size)]);
    expect(tables, 'level-0 tables read: one per 2 MiB region the job touches').toBe(needed.size);
    // the command (two reads of one page), each source and destination page at most twice
    expect(translations, 'pages translated').toBeLessThanOrEqual(2 + 2 * (2 * pages));
  });
});

describe('7.4 fault causes', () => {
  const dev = useOssa();

  test('the causes are numbered as the datasheet says', () => {
    expect([
      R.FAULT_NOT_PRESENT, R.FAULT_PERMISSION, R.FAULT_RESERVED, R.FAULT_RANGE,
      R.FAULT_WALK_ERROR, R.FAULT_BUS_ERROR, R.FAULT_INJECTED,
    ]).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('NOT_PRESENT (1): level-0 entry not VALID (write)', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const va = ctx.reserve(PAGE);
    await ctx.alloc(PAGE); // the level-0 table exists
    await expectFault(d, ctx, [cmd.fence(va + 0x18n, 1n)], { cause: R.FAULT_NOT_PRESENT, write: true, addr: va + 0x18n });
  });

  test('NOT_PRESENT (1): level-1 entry not VALID (read)', async () => {
    const d = dev();
    const ctx = await d.context(2);
    // away from the stream's level-1 slot, so that only this access is affected
    const src = await ctx.alloc(PAGE, PERM_RW, { va: 0x20_0000_0000n });
    const dst = await ctx.alloc(PAGE);
    await ctx.pt.setRaw(src, 1, 0n);
    await expectFault(d, ctx, [cmd.copy(src + 5n, dst, 8)], { cause: R.FAULT_NOT_PRESENT, write: false, addr: src + 5n });
  });

  test('NOT_PRESENT (1): level-2 entry not VALID', async () => {
    const d = dev();
    const ctx = await d.context(3);
    const va = await ctx.alloc(PAGE, PERM_RW, { va: 0x40_0000_0000n });
    await ctx.pt.setRaw(va, 2, 0n);
    await expectFault(d, ctx, [cmd.timestamp(va + 8n)], { cause: R.FAULT_NOT_PRESENT, write: true, addr: va + 8n });
  });

  test('PERMISSION (2): read of a page without READ', async () => {
    const d = dev();
    const ctx = await d.context(4);
    const src = await ctx.alloc(PAGE, PERM_W);
    const dst = await ctx.alloc(PAGE, PERM_RW);
    await expectFault(d, ctx, [cmd.copy(src + 0x10n, dst, 16)], { cause: R.FAULT_PERMISSION, write: false, addr: src + 0x10n });
  });

  test('PERMISSION (2): write of a page without WRITE', async () => {
    const d = dev();
    const ctx = await d.context(5);
    const src = await ctx.alloc(PAGE, PERM_RW);
    const dst = await ctx.alloc(PAGE, PERM_R);
    await ctx.write(dst, Buffer.alloc(32, 0x99));
    await expectFault(d, ctx, [cmd.copy(src, dst + 0x20n, 16)], { cause: R.FAULT_PERMISSION, write: true, addr: dst + 0x20n });
    expect(await ctx.read(dst, 32)).toEqual(Buffer.alloc(32, 0x99));
  });

  test('PERMISSION (2): a VALID page with neither READ nor WRITE', async () => {
    const d = dev();
    const ctx = await d.context(6);
    const src = await ctx.alloc(PAGE, 0n);
    const dst = await ctx.alloc(PAGE, PERM_RW);
    await expectFault(d, ctx, [cmd.crc32c(src, 4, dst)], { cause: R.FAULT_PERMISSION, write: false, addr: src });
  });

  test('PERMISSION (2): the command stream needs READ', async () => {
    const d = dev();
    const ctx = await d.context(7);
    const va = await ctx.putStream(cmd.nop(), PERM_W);
    const r = await (await d.queue(0)).run({ context: 7, cmdAddr: va, cmdSize: 8 });
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    const info = await faultInfo(d);
    expect({ cause: info.cause, write: info.write }).toEqual({ cause: R.FAULT_PERMISSION, write: false });
    expect(await d.faultAddr()).toBe(va);
  });

  test.each([
    ['level-0 bit 3', 0, 1n << 3n],
    ['level-0 bit 11', 0, 1n << 11n],
    ['level-0 bit 52', 0, 1n << 52n],
    ['level-0 bit 63', 0, 1n << 63n],
    ['level-1 READ bit (reserved above level 0)', 1, BigInt(R.PTE_READ)],
    ['level-1 bit 5', 1, 1n << 5n],
    ['level-2 WRITE bit (reserved above level 0)', 2, BigInt(R.PTE_WRITE)],
    ['level-2 bit 62', 2, 1n << 62n],
  ] as const)('RESERVED (3): %s', async (_name, level, bit) => {
    const d = dev();
    const ctx = await d.context(8);
    const va = await ctx.alloc(PAGE, PERM_RW, { va: 0x30_0000_0000n });
    const entry = await ctx.pt.getRaw(va, level);
    await ctx.pt.setRaw(va, level, entry | bit);
    await expectFault(d, ctx, [cmd.fill(va + 0x40n, 4, 1)], { cause: R.FAULT_RESERVED, write: true, addr: va + 0x40n });
  });

  test.each([
    ['2^39', 1n << 39n],
    ['2^39 + 0x123 (read)', (1n << 39n) + 0x123n],
    ['2^63', 1n << 63n],
    ['0xffffff8000000000 (a sign-extended VA)', 0xffff_ff80_0000_0000n],
  ] as const)('RANGE (4): VA %s', async (_name, va) => {
    const d = dev();
    const ctx = await d.context(9);
    const buf = await ctx.alloc(PAGE);
    const write = !_name.includes('read');
    const c = write ? cmd.fence(va & ~7n, 1n) : cmd.copy(va, buf, 4);
    await expectFault(d, ctx, [c], { cause: R.FAULT_RANGE, write, addr: write ? va & ~7n : va });
  });

  test('RANGE (4): an access whose addr + size passes 2^39', async () => {
    const d = dev();
    const ctx = await d.context(10);
    const top = await ctx.alloc(PAGE, PERM_RW, { va: (1n << 39n) - BigInt(PAGE) });
    const dst = await ctx.alloc(2 * PAGE);
    await expectFault(d, ctx, [cmd.copy(top + 0x800n, dst, PAGE)], { cause: R.FAULT_RANGE, write: false });
    // the faulting page is the one at 2^39 (or, if checked up front, the access's start)
    expect([1n << 39n, top + 0x800n]).toContain(await d.faultAddr());
  });

  test('WALK_ERROR (5): a level-2 entry pointing at an unassigned bus address', async () => {
    const d = dev();
    const ctx = await d.context(11);
    const va = await ctx.alloc(PAGE, PERM_RW, { va: 0x50_0000_0000n });
    await ctx.pt.setRaw(va, 2, BigInt(UNASSIGNED_BUS_ADDR) | BigInt(R.PTE_VALID));
    await expectFault(d, ctx, [cmd.fill(va, 4, 1)], { cause: R.FAULT_WALK_ERROR, write: true, addr: va });
  });

  test('WALK_ERROR (5): a level-1 entry pointing at an unassigned bus address (read)', async () => {
    const d = dev();
    const ctx = await d.context(12);
    const va = await ctx.alloc(PAGE, PERM_RW, { va: 0x21_0000_0000n });
    const dst = await ctx.alloc(PAGE, PERM_RW, { va: 0x60_0000_0000n });
    await ctx.pt.setRaw(va, 1, BigInt(UNASSIGNED_BUS_ADDR) | BigInt(R.PTE_VALID));
    await expectFault(d, ctx, [cmd.copy(va + 4n, dst, 4)], { cause: R.FAULT_WALK_ERROR, write: false, addr: va + 4n });
  });

  test('WALK_ERROR (5): a context whose level-2 table is at an unassigned bus address', async () => {
    const d = dev();
    const ctx = await d.context(13);
    const desc = await ctx.job(cmd.nop());
    await d.ctxTable.setRoot(13, UNASSIGNED_BUS_ADDR);
    const r = await (await d.queue(0)).run(desc);
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    expect((await faultInfo(d)).cause).toBe(R.FAULT_WALK_ERROR);
    expect(await d.faultAddr()).toBe(BigInt(desc.cmdAddr));
  });

  test.each([
    ['COPY reading', (va: bigint, ok: bigint) => cmd.copy(va + 0x30n, ok, 8), false, 0x30n],
    ['COPY writing', (va: bigint, ok: bigint) => cmd.copy(ok, va + 0x38n, 8), true, 0x38n],
    ['FMA_F32 reading (a staged access)', (va: bigint, ok: bigint) => cmd.fmaF32(4, ok, va + 0x40n, ok, ok + 0x100n), false, 0x40n],
    ['FENCE writing (a staged access)', (va: bigint) => cmd.fence(va + 0x48n, 1n), true, 0x48n],
  ] as const)('BUS_ERROR (6): %s a page at an unassigned bus address', async (_, command, write, offset) => {
    const d = dev();
    const ctx = await d.context(14);
    const va = await ctx.alloc(PAGE);
    const ok = await ctx.alloc(PAGE);
    await ctx.pt.map(va, UNASSIGNED_BUS_ADDR, PERM_RW);
    await expectFault(d, ctx, [command(va, ok)], { cause: R.FAULT_BUS_ERROR, write, addr: va + offset });
  });

  test('INJECTED (7): the fault-injection page faults in every context', async () => {
    const d = dev();
    const a = await d.context(15);
    const b = await d.context(16);
    const va = await a.alloc(PAGE, PERM_RW, { va: 0x1_2345_6000n });
    await b.alloc(PAGE, PERM_RW, { va });
    const [lo, hi] = split64(va | BigInt(R.INJECT_FAULT_ENABLE));
    await d.write(R.REG_INJECT_FAULT_LO, lo);
    await d.write(R.REG_INJECT_FAULT_HI, hi);
    await expectFault(d, a, [cmd.fence(va + 0x100n, 1n)], { cause: R.FAULT_INJECTED, write: true, addr: va + 0x100n });
    await d.write(R.REG_FAULT_INFO, R.FAULT_INFO_VALID);
    await expectFault(d, b, [cmd.crc32c(va + 3n, 1, va + 0x200n)], { cause: R.FAULT_INJECTED, write: false, addr: va + 3n });
  });
});

describe('7.3 what each command reads and writes through the MMU', () => {
  const dev = useOssa();

  // [command, operand, is a write]: the operand is pointed at an unmapped page
  type Build = (bad: bigint, ok: bigint) => Buffer;
  const operands: Array<[string, Build, boolean]> = [
    ['COPY src', (bad, ok) => cmd.copy(bad, ok, 16), false],
    ['COPY dst', (bad, ok) => cmd.copy(ok, bad, 16), true],
    ['FILL dst', (bad) => cmd.fill(bad, 16, 7), true],
    ['CRC32C src', (bad, ok) => cmd.crc32c(bad, 16, ok), false],
    ['CRC32C dst', (bad, ok) => cmd.crc32c(ok, 16, bad), true],
    ['FMA_F32 a', (bad, ok) => cmd.fmaF32(4, bad, ok, ok, ok + 64n), false],
    ['FMA_F32 b', (bad, ok) => cmd.fmaF32(4, ok, bad, ok, ok + 64n), false],
    ['FMA_F32 c', (bad, ok) => cmd.fmaF32(4, ok, ok, bad, ok + 64n), false],
    ['FMA_F32 d', (bad, ok) => cmd.fmaF32(4, ok, ok, ok, bad), true],
    ['FENCE addr', (bad) => cmd.fence(bad, 1n), true],
    ['TIMESTAMP addr', (bad) => cmd.timestamp(bad), true],
  ];
  test.each(operands)('%s', async (_name, build, write) => {
    const d = dev();
    const ctx = await d.context(17);
    const ok = await ctx.alloc(PAGE);
    const bad = ctx.reserve(PAGE) + 0x48n;
    await expectFault(d, ctx, [cmd.nop(), build(bad, ok)], { cause: R.FAULT_NOT_PRESENT, write, addr: bad, errorOffset: 8 });
  });
});

describe('7.4/7.5 fault record, FAULT_COUNT and stopped contexts', () => {
  const dev = useOssa();

  test('FAULT_INFO fields: CONTEXT, QUEUE, WRITE, CAUSE, VALID; FAULT_ADDR_LO/HI hold the VA', async () => {
    const d = dev();
    const ctx = await d.context(37);
    const va = await ctx.alloc(PAGE, PERM_R, { va: 0x12_3456_7000n });
    const r = await expectFault(d, ctx, [cmd.nop(), cmd.fence(va + 0x238n, 5n)], {
      cause: R.FAULT_PERMISSION,
      write: true,
      q: 1,
      errorOffset: 8,
    });
    expect(r.errorOffset).toBe(8);
    const info = await d.read(R.REG_FAULT_INFO);
    expect(info >>> 0).toBe((R.FAULT_INFO_VALID | (R.FAULT_PERMISSION << R.FAULT_INFO_CAUSE_SHIFT) | R.FAULT_INFO_WRITE | (1 << R.FAULT_INFO_QUEUE_SHIFT) | 37) >>> 0);
    expect(await d.read(R.REG_FAULT_ADDR_LO)).toBe(0x3456_7238);
    expect(await d.read(R.REG_FAULT_ADDR_HI)).toBe(0x12);
    expect(await d.read(R.REG_CTX_STOPPED_HI)).toBe(1 << (37 - 32));
    expect(await d.read(R.REG_CTX_STOPPED_LO)).toBe(0);
  });

  test('only the first fault is recorded while VALID is 1; later ones only count; W1C of VALID clears the record', async () => {
    const d = dev();
    const a = await d.context(3);
    const b = await d.context(4);
    const c = await d.context(5);
    const va = a.reserve(PAGE);
    await expectFault(d, a, [cmd.fence(va, 1n)], { cause: R.FAULT_NOT_PRESENT, write: true, addr: va });
    const first = await d.read(R.REG_FAULT_INFO);
    const bsrc = await b.alloc(PAGE, PERM_W);
    const bdst = await b.alloc(PAGE);
    const r = await d.run(b, [cmd.copy(bsrc, bdst, 8)], {}, 1);
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    expect(await d.read(R.REG_FAULT_INFO)).toBe(first);
    expect(await d.faultAddr()).toBe(va);
    expect(await d.read(R.REG_FAULT_COUNT)).toBe(2);
    expect(await d.ctxStopped()).toBe((1n << 3n) | (1n << 4n));
    // writing other bits does not clear it
    await d.write(R.REG_FAULT_INFO, 0x7fff_ffff);
    expect(await d.read(R.REG_FAULT_INFO)).toBe(first);
    await d.write(R.REG_FAULT_INFO, R.FAULT_INFO_VALID);
    expect(await d.read(R.REG_FAULT_INFO)).toBe(0);
    expect(await d.faultAddr()).toBe(0n);
    expect(await d.read(R.REG_FAULT_COUNT)).toBe(2);
    // the next fault is recorded again
    const cva = c.reserve(PAGE);
    await expectFault(d, c, [cmd.timestamp(cva + 16n)], { cause: R.FAULT_NOT_PRESENT, write: true, addr: cva + 16n });
    expect(await d.read(R.REG_FAULT_COUNT)).toBe(3);
  });

  test('FAULT_COUNT counts every fault', async () => {
    const d = dev();
    for (let i = 0; i < 5; i += 1) {
      const ctx = await d.context(20 + i);
      const r = await d.run(ctx, [cmd.fence(ctx.reserve(8), 1n)], {}, i % 2);
      expect(r.status).toBe(R.JOB_MMU_FAULT);
      expect(await d.read(R.REG_FAULT_COUNT)).toBe(i + 1);
    }
    expect(await d.ctxStopped()).toBe(0x1fn << 20n);
  });

  test('a fault stops only its context: other contexts keep running, on the same and the other queue', async () => {
    const d = dev();
    const bad = await d.context(1);
    const good = await d.context(2);
    const q0 = await d.queue(0);
    const q1 = await d.queue(1);
    const out = await good.alloc(16);
    const [i0, i1, i2] = await q0.submit(
      await bad.job(cmd.fence(bad.reserve(8), 1n)),
      await good.job(cmd.fence(out, 0xaaaan)),
      await bad.job(cmd.nop()),
    );
    const [j0] = await q1.submit(await good.job(cmd.fence(out + 8n, 0xbbbbn)));
    await q0.waitHead(3);
    await q1.waitHead(1);
    expect((await q0.result(i0 ?? 0)).status).toBe(R.JOB_MMU_FAULT);
    expect((await q0.result(i1 ?? 0)).status).toBe(R.JOB_OK);
    expect((await q0.result(i2 ?? 0)).status).toBe(R.JOB_CONTEXT_STOPPED);
    expect((await q1.result(j0 ?? 0)).status).toBe(R.JOB_OK);
    expect(await good.readU64(out)).toBe(0xaaaan);
    expect(await good.readU64(out + 8n)).toBe(0xbbbbn);
    expect(await q0.status()).toBe(R.Q_STATUS_ENABLED);
  });

  test('isolation: a job of context A cannot reach context B\'s pages', async () => {
    const d = dev();
    const a = await d.context(10);
    const b = await d.context(11);
    const secret = await b.alloc(PAGE, PERM_RW, { va: 0x5000_0000n });
    await b.write(secret, Buffer.alloc(PAGE, 0x5e));
    const aBuf = await a.alloc(PAGE);
    await a.write(aBuf, Buffer.alloc(PAGE, 0));
    // A has nothing at B's VA
    await expectFault(d, a, [cmd.copy(secret, aBuf, 64)], { cause: R.FAULT_NOT_PRESENT, write: false, addr: secret });
    expect(await a.read(aBuf, 64)).toEqual(Buffer.alloc(64));
    await d.write(R.REG_CTX_STOPPED_LO, 1 << 10);
    // A maps the same VA to its own page: writes go there, not to B's page
    const aPage = await d.mem.allocZeroed(PAGE);
    await a.pt.map(secret, aPage, PERM_RW);
    expect((await d.run(a, [cmd.fill(secret, PAGE, 0xa0a0_a0a0)])).status).toBe(R.JOB_OK);
    expect(await b.read(secret, PAGE)).toEqual(Buffer.alloc(PAGE, 0x5e));
    expect(await d.qt.read(aPage, 8)).toEqual(Buffer.alloc(8, 0xa0));
  });

  test('stopped contexts above 31 use CTX_STOPPED_HI; W1C restarts each independently', async () => {
    const d = dev();
    const ids = [0, 31, 32, 63];
    for (const id of ids) {
      const ctx = await d.context(id);
      expect((await d.run(ctx, [cmd.fence(ctx.reserve(8), 1n)])).status).toBe(R.JOB_MMU_FAULT);
    }
    expect(await d.read(R.REG_CTX_STOPPED_LO)).toBe(0x8000_0001);
    expect(await d.read(R.REG_CTX_STOPPED_HI)).toBe(0x8000_0001);
    await d.write(R.REG_CTX_STOPPED_HI, 0x8000_0000);
    expect(await d.read(R.REG_CTX_STOPPED_HI)).toBe(1);
    await d.write(R.REG_CTX_STOPPED_LO, 1);
    expect(await d.read(R.REG_CTX_STOPPED_LO)).toBe(0x8000_0000);
  });
});
