/** Datasheet 5.4 (job status codes) and the INVALID_COMMAND conditions of section 6. */
import { describe, expect, test } from 'vitest';
import { cmd, type Descriptor, encodeDescriptor, rawCommand } from './commands.js';
import type { Context, Ossa } from './device.js';
import { split64, useOssa } from './harness.js';
import { PERM_R, UNASSIGNED_BUS_ADDR } from './memory.js';
import { R } from './regs.js';

const MARK1 = 0x1111_1111_1111_1111n;
const MARK2 = 0x2222_2222_2222_2222n;

/** A buffer for two fence markers, zeroed. */
async function markers(ctx: Context): Promise<bigint> {
  return ctx.allocZeroed(16);
}

async function readMarks(ctx: Context, m: bigint): Promise<[bigint, bigint]> {
  return [await ctx.readU64(m), await ctx.readU64(m + 8n)];
}

describe('5.4 job status codes', () => {
  const dev = useOssa();

  test('the status codes are numbered as the datasheet says', () => {
    expect([
      R.JOB_OK, R.JOB_INVALID_DESCRIPTOR, R.JOB_INVALID_CONTEXT, R.JOB_CONTEXT_STOPPED,
      R.JOB_INVALID_COMMAND, R.JOB_MMU_FAULT, R.JOB_INJECTED_ERROR,
    ]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  test('OK (0): every command completed', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const m = await markers(ctx);
    const r = await d.run(ctx, [cmd.fence(m, MARK1), cmd.nop(), cmd.fence(m + 8n, MARK2)]);
    expect(r.status).toBe(R.JOB_OK);
    expect(r.errorOffset).toBe(0);
    expect(await readMarks(ctx, m)).toEqual([MARK1, MARK2]);
  });

  describe('INVALID_DESCRIPTOR (1): nothing ran', () => {
    const cases: Array<[string, (good: Descriptor) => Descriptor]> = [
      ['FLAGS reserved bit 1', (g) => ({ ...g, flags: 0x2 })],
      ['FLAGS reserved bit 31', (g) => ({ ...g, flags: 0x8000_0001 })],
      ['reserved u32 at 0x14 not 0', (g) => ({ ...g, reserved: 1 })],
      ['CMD_ADDR not 8-byte aligned', (g) => ({ ...g, cmdAddr: BigInt(g.cmdAddr) + 4n })],
      ['CMD_SIZE 0', (g) => ({ ...g, cmdSize: 0 })],
      ['CMD_SIZE not a multiple of 8', (g) => ({ ...g, cmdSize: 28 })],
      ['CMD_SIZE over 1 MiB', (g) => ({ ...g, cmdSize: R.CMD_SIZE_MAX + 8 })],
      ['CMD_SIZE 0xfffffff8', (g) => ({ ...g, cmdSize: 0xffff_fff8 })],
    ];
    test.each(cases)('%s', async (_name, mutate) => {
      const d = dev();
      const ctx = await d.context(1);
      const m = await markers(ctx);
      const good = await ctx.job([cmd.fence(m, MARK1), cmd.fence(m + 8n, MARK2)]);
      const queue = await d.queue(0);
      const r = await queue.run(mutate(good));
      expect(r.status).toBe(R.JOB_INVALID_DESCRIPTOR);
      expect(r.errorOffset).toBe(0);
      expect(await readMarks(ctx, m)).toEqual([0n, 0n]);
      // the queue goes on
      expect((await queue.run(good)).status).toBe(R.JOB_OK);
      expect(await readMarks(ctx, m)).toEqual([MARK1, MARK2]);
    });
  });

  describe('INVALID_CONTEXT (2): nothing ran', () => {
    async function expectInvalidContext(d: Ossa, desc: Descriptor, ctx: Context, m: bigint): Promise<void> {
      const r = await (await d.queue(1)).run(desc);
      expect(r.status).toBe(R.JOB_INVALID_CONTEXT);
      expect(r.errorOffset).toBe(0);
      expect(await readMarks(ctx, m)).toEqual([0n, 0n]);
    }

    test.each([64, 65, 0xffff_ffff])('CONTEXT %i (>= 64)', async (id) => {
      const d = dev();
      const ctx = await d.context(0);
      const m = await markers(ctx);
      await expectInvalidContext(d, { ...(await ctx.job([cmd.fence(m, MARK1)])), context: id }, ctx, m);
    });

    test('its context-table entry is not VALID', async () => {
      const d = dev();
      const ctx = await d.context(3);
      const m = await markers(ctx);
      const desc = await ctx.job([cmd.fence(m, MARK1)]);
      await d.ctxTable.setRaw(3, BigInt(ctx.pt.root)); // VALID clear
      await expectInvalidContext(d, desc, ctx, m);
      // the entry is read when the job starts: valid again, the job runs
      await d.ctxTable.setRoot(3, ctx.pt.root);
      expect((await (await d.queue(0)).run(desc)).status).toBe(R.JOB_OK);
    });

    const reserved: Array<[string, bigint, bigint]> = [
      ['ROOT bit 1', 0x2n, 0n],
      ['ROOT bit 11', 0x800n, 0n],
      ['ROOT bit 52', 1n << 52n, 0n],
      ['ROOT bit 63', 1n << 63n, 0n],
      ['the reserved u64 at offset 8', 0n, 1n],
    ];
    test.each(reserved)('its context-table entry has a reserved bit set: %s', async (_name, rootBits, word1) => {
      const d = dev();
      const ctx = await d.context(4);
      const m = await markers(ctx);
      const desc = await ctx.job([cmd.fence(m, MARK1)]);
      await d.ctxTable.setRaw(4, BigInt(ctx.pt.root) | BigInt(R.CTX_ROOT_VALID) | rootBits, word1);
      await expectInvalidContext(d, desc, ctx, m);
    });

    test('its context-table entry cannot be read (CTX_TABLE at an unassigned bus address)', async () => {
      const d = dev();
      const ctx = await d.context(5);
      const m = await markers(ctx);
      const desc = await ctx.job([cmd.fence(m, MARK1)]);
      const [lo, hi] = split64(BigInt(UNASSIGNED_BUS_ADDR));
      await d.write(R.REG_CTX_TABLE_LO, lo);
      await d.write(R.REG_CTX_TABLE_HI, hi);
      await expectInvalidContext(d, desc, ctx, m);
    });
  });

  describe('CONTEXT_STOPPED (3)', () => {
    test.each([5, 40])('context %i: after an MMU fault its jobs complete CONTEXT_STOPPED without running, until CTX_STOPPED is cleared', async (id) => {
      const d = dev();
      const ctx = await d.context(id);
      const other = await d.context(id + 1);
      const m = await markers(ctx);
      const queue = await d.queue(0);
      const bad = await queue.run(await ctx.job([cmd.fence(ctx.reserve(8), 1n)]));
      expect(bad.status).toBe(R.JOB_MMU_FAULT);
      const stoppedReg = id < 32 ? R.REG_CTX_STOPPED_LO : R.REG_CTX_STOPPED_HI;
      const bit = 1 << (id % 32);
      expect((await d.read(stoppedReg)) >>> 0).toBe(bit >>> 0);
      const desc = await ctx.job([cmd.fence(m, MARK1)]);
      const r = await queue.run(desc);
      expect(r.status).toBe(R.JOB_CONTEXT_STOPPED);
      expect(r.errorOffset).toBe(0);
      expect(await readMarks(ctx, m)).toEqual([0n, 0n]);
      // another context is not stopped
      expect((await queue.run(await other.job(cmd.nop()))).status).toBe(R.JOB_OK);
      // writing 0s, or 1 to another bit, does not restart it
      await d.write(stoppedReg, 0);
      await d.write(stoppedReg, (~bit) >>> 0);
      expect((await queue.run(desc)).status).toBe(R.JOB_CONTEXT_STOPPED);
      // W1C restarts it
      await d.write(stoppedReg, bit >>> 0);
      expect(await d.ctxStopped()).toBe(0n);
      expect((await queue.run(desc)).status).toBe(R.JOB_OK);
      expect(await readMarks(ctx, m)).toEqual([MARK1, 0n]);
    });
  });
});

describe('6. INVALID_COMMAND (4): ERROR_OFFSET names the command; earlier commands kept, later ones not run', () => {
  const dev = useOssa();

  /** Runs [FENCE mark1, bad, FENCE mark2] (or a custom tail) and checks the outcome. */
  async function expectInvalid(d: Ossa, ctx: Context, bad: Buffer, opts: { truncateTo?: number } = {}): Promise<void> {
    const m = await markers(ctx);
    const head = cmd.fence(m, MARK1);
    let s = Buffer.concat([head, bad, cmd.fence(m + 8n, MARK2)]);
    if (opts.truncateTo !== undefined) s = s.subarray(0, opts.truncateTo);
    const va = await ctx.putStream(s);
    const r = await (await d.queue(0)).run({ context: ctx.id, cmdAddr: va, cmdSize: s.length });
    expect({ status: r.status, errorOffset: r.errorOffset }).toEqual({ status: R.JOB_INVALID_COMMAND, errorOffset: head.length });
    expect(await readMarks(ctx, m)).toEqual([MARK1, 0n]);
  }

  async function setup(): Promise<{ d: Ossa; ctx: Context; buf: bigint }> {
    const d = dev();
    const ctx = await d.context(1);
    const buf = await ctx.alloc(3 * 4096);
    return { d, ctx, buf };
  }

  test.each([
    ['0x07', 0x07],
    ['0x08', 0x08],
    ['0x10', 0x10],
    ['0xff', 0xff],
    ['0x80000000', 0x8000_0000],
    ['0xffffffff', 0xffff_ffff],
  ] as const)('unknown opcode %s', async (_name, op) => {
    const { d, ctx } = await setup();
    await expectInvalid(d, ctx, rawCommand(op, 0, [], 8));
  });

  test.each([
    ['NOP', (_b: bigint) => cmd.nop(1)],
    ['COPY', (b: bigint) => cmd.copy(b, b + 4096n, 8, 0x100)],
    ['TIMESTAMP', (b: bigint) => cmd.timestamp(b, 0x8000_0000)],
    ['FENCE flags bit 1', (b: bigint) => cmd.fence(b, 1n, 0x2)],
    ['FENCE flags bit 31', (b: bigint) => cmd.fence(b, 1n, 0x8000_0001)],
  ] as const)('a reserved field or flag not 0: %s', async (_name, make) => {
    const { d, ctx, buf } = await setup();
    await expectInvalid(d, ctx, make(buf));
  });

  test.each([
    ['COPY cut after 16 of 32 bytes', 16],
    ['COPY cut after 8 of 32 bytes', 8],
    ['COPY cut after 24 of 32 bytes', 24],
  ] as const)('a command extending past CMD_SIZE: %s', async (_name, keep) => {
    const { d, ctx, buf } = await setup();
    await expectInvalid(d, ctx, cmd.copy(buf, buf + 4096n, 8), { truncateTo: 24 + keep });
  });

  test('FMA_F32 and FILL extending past CMD_SIZE', async () => {
    const { d, ctx, buf } = await setup();
    await expectInvalid(d, ctx, cmd.fmaF32(1, buf, buf, buf, buf + 4096n), { truncateTo: 24 + 32 });
    await expectInvalid(d, ctx, cmd.fill(buf, 4, 0), { truncateTo: 24 + 16 });
    await expectInvalid(d, ctx, cmd.crc32c(buf, 4, buf + 8n), { truncateTo: 24 + 24 });
    await expectInvalid(d, ctx, cmd.fence(buf, 1n), { truncateTo: 24 + 16 });
    await expectInvalid(d, ctx, cmd.timestamp(buf), { truncateTo: 24 + 8 });
  });

  test.each([
    ['FILL dst not a multiple of 4', (b: bigint) => cmd.fill(b + 2n, 8, 0)],
    ['FILL size not a multiple of 4', (b: bigint) => cmd.fill(b, 6, 0)],
    ['CRC32C dst not 4-byte aligned', (b: bigint) => cmd.crc32c(b, 8, b + 4097n)],
    ['FMA_F32 a not 4-byte aligned', (b: bigint) => cmd.fmaF32(1, b + 1n, b + 16n, b + 32n, b + 4096n)],
    ['FMA_F32 b not 4-byte aligned', (b: bigint) => cmd.fmaF32(1, b, b + 18n, b + 32n, b + 4096n)],
    ['FMA_F32 c not 4-byte aligned', (b: bigint) => cmd.fmaF32(1, b, b + 16n, b + 35n, b + 4096n)],
    ['FMA_F32 d not 4-byte aligned', (b: bigint) => cmd.fmaF32(1, b, b + 16n, b + 32n, b + 4098n)],
    ['FENCE addr not 8-byte aligned', (b: bigint) => cmd.fence(b + 4n, 1n)],
    ['TIMESTAMP addr not 8-byte aligned', (b: bigint) => cmd.timestamp(b + 12n)],
  ] as const)('an address not aligned as required: %s', async (_name, make) => {
    const { d, ctx, buf } = await setup();
    await expectInvalid(d, ctx, make(buf));
  });

  test.each([
    ['COPY size 1 GiB + 1', (b: bigint) => cmd.copy(b, b + 4096n, R.DATA_SIZE_MAX + 1)],
    ['COPY size 2^63', (b: bigint) => cmd.copy(b, b + 4096n, 1n << 63n)],
    ['FILL size 1 GiB + 4', (b: bigint) => cmd.fill(b, R.DATA_SIZE_MAX + 4, 0)],
    ['CRC32C size 1 GiB + 1', (b: bigint) => cmd.crc32c(b, R.DATA_SIZE_MAX + 1, b + 4096n)],
    ['FMA_F32 count 2^24 + 1', (b: bigint) => cmd.fmaF32(R.FMA_COUNT_MAX + 1, b, b, b, b + 4096n)],
    ['FMA_F32 count 0xffffffff', (b: bigint) => cmd.fmaF32(0xffff_ffff, b, b, b, b + 4096n)],
  ] as const)('a size over its limit: %s', async (_name, make) => {
    const { d, ctx, buf } = await setup();
    await expectInvalid(d, ctx, make(buf));
    expect(await d.read(R.REG_FAULT_COUNT)).toBe(0);
  });

  test.each([
    ['src = dst', 0n, 0n, 8],
    ['dst = src + 1', 0n, 1n, 8],
    ['src = dst + 4', 4n, 0n, 8],
    ['one inside the other', 0n, 100n, 4096],
  ] as const)('COPY with overlapping ranges: %s', async (_name, s, t, size) => {
    const { d, ctx, buf } = await setup();
    await expectInvalid(d, ctx, cmd.copy(buf + s, buf + t, size));
  });

  test('the ERROR_OFFSET of a bad command deep in the stream', async () => {
    const { d, ctx } = await setup();
    const m = await markers(ctx);
    const s = Buffer.concat([...Array.from({ length: 100 }, () => cmd.nop()), cmd.fence(m, MARK1), rawCommand(0x42, 0, [], 8), cmd.fence(m + 8n, MARK2)]);
    const va = await ctx.putStream(s);
    const r = await (await d.queue(0)).run({ context: 1, cmdAddr: va, cmdSize: s.length });
    expect(r.status).toBe(R.JOB_INVALID_COMMAND);
    expect(r.errorOffset).toBe(800 + 24);
    expect(await readMarks(ctx, m)).toEqual([MARK1, 0n]);
  });
});

describe('5.4 partial effects and faults while fetching the stream', () => {
  const dev = useOssa();

  test('a job failing in a command keeps the effects before it and of the failing command up to the fault', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const m = await markers(ctx);
    const page = await ctx.alloc(4096); // followed by an unmapped guard page
    await ctx.write(page, Buffer.alloc(4096));
    const s = [cmd.fence(m, MARK1), cmd.fill(page, 8192, 0xabababab), cmd.fence(m + 8n, MARK2)];
    const r = await d.run(ctx, s);
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    expect(r.errorOffset).toBe(24);
    expect(await readMarks(ctx, m)).toEqual([MARK1, 0n]);
    expect((await ctx.read(page, 4096)).equals(Buffer.alloc(4096, 0xab)), 'the first page was filled').toBe(true);
    expect(await d.faultAddr()).toBe(page + 4096n);
  });

  test('a fault while fetching the stream is MMU_FAULT at the command being fetched', async () => {
    const d = dev();
    const ctx = await d.context(2);
    const m = await markers(ctx);
    const page = await ctx.alloc(4096, PERM_R); // the next page is unmapped
    const s = Buffer.concat([cmd.fence(m, MARK1), cmd.fence(m + 8n, MARK2), cmd.nop(), cmd.nop()]);
    const start = page + 4096n - 48n; // the NOPs are on the unmapped page
    await ctx.write(start, s.subarray(0, 48));
    const r = await (await d.queue(0)).run({ context: 2, cmdAddr: start, cmdSize: s.length });
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    expect(r.errorOffset).toBe(48);
    expect(await readMarks(ctx, m)).toEqual([MARK1, MARK2]);
    expect(await d.faultAddr()).toBe(page + 4096n);
    const info = await d.read(R.REG_FAULT_INFO);
    expect(info & R.FAULT_INFO_WRITE).toBe(0);
    expect((info & R.FAULT_INFO_CAUSE_MASK) >>> R.FAULT_INFO_CAUSE_SHIFT).toBe(R.FAULT_NOT_PRESENT);
  });

  test('a command straddling into an unmapped page faults at that command', async () => {
    const d = dev();
    const ctx = await d.context(3);
    const m = await markers(ctx);
    const page = await ctx.alloc(4096, PERM_R);
    const s = cmd.fence(m, MARK1);
    const start = page + 4096n - 16n;
    await ctx.write(start, s.subarray(0, 16));
    const r = await (await d.queue(0)).run({ context: 3, cmdAddr: start, cmdSize: 24 });
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    expect(r.errorOffset).toBe(0);
    expect(await readMarks(ctx, m)).toEqual([0n, 0n]);
    expect(await d.faultAddr()).toBe(page + 4096n);
  });

  test('USER_DATA is untouched and the reserved u64 at 0x38 is written 0 on failures too', async () => {
    const d = dev();
    const ctx = await d.context(4);
    const desc = encodeDescriptor({ ...(await ctx.job(rawCommand(0x99, 0, [], 8))), userData: 0x1234n }, 0xff);
    const r = await (await d.queue(0)).run(desc);
    expect(r.status).toBe(R.JOB_INVALID_COMMAND);
    expect(r.userData).toBe(0x1234n);
    expect(r.tail).toBe(0n);
    expect(r.endNs).toBeGreaterThanOrEqual(r.startNs);
  });
});
