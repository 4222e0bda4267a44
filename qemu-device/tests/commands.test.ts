/** Datasheet section 6: each command against the reference implementation. */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Context, Ossa } from './device.js';
import { useOssa } from './harness.js';
import { PERM_R, PERM_RW, PERM_W } from './memory.js';
import { Prng } from '../../userspace/src/prng.js';
import {
  bytesU32,
  crc32cCombine,
  f32Bits,
  f32FromBits,
  refCopy,
  refCrc32c,
  refFill,
  refFmaF32,
  refFmaF32Bits,
  u32Bytes,
} from '../../userspace/src/reference.js';
import { R } from './regs.js';

async function expectOk(d: Ossa, ctx: Context, commands: Buffer[], q = 0): Promise<void> {
  const r = await d.run(ctx, commands, {}, q);
  expect({ status: r.status, errorOffset: r.errorOffset }).toEqual({ status: R.JOB_OK, errorOffset: 0 });
}

describe('6. NOP', () => {
  const dev = useOssa();

  test('NOP (opcode 0, 8 bytes) does nothing and completes OK', async () => {
    const d = dev();
    const ctx = await d.context(1);
    expect(R.CMD_NOP).toBe(0);
    expect(cmd.nop().length).toBe(R.CMD_NOP_SIZE);
    await expectOk(d, ctx, [cmd.nop()]);
    await expectOk(d, ctx, Array.from({ length: 200 }, () => cmd.nop()));
  });

  test('a command stream of exactly 1 MiB (131072 NOPs) is accepted', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const s = Buffer.alloc(R.CMD_SIZE_MAX); // zeroes: NOPs
    const va = await ctx.alloc(s.length, PERM_R, { scattered: false });
    await ctx.write(va, s);
    const queue = await d.queue(0);
    const r = await queue.run({ context: 1, cmdAddr: va, cmdSize: s.length }, { tries: 20_000 });
    expect(r.status).toBe(R.JOB_OK);
  });
});

describe('6. COPY', () => {
  const dev = useOssa();

  test('COPY: unaligned sources, destinations and sizes', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const rng = new Prng(11);
    const src = await ctx.alloc(3 * 4096);
    const srcData = rng.bytes(3 * 4096);
    await ctx.write(src, srcData);
    const cases: Array<{ so: number; dst: bigint; size: number }> = [];
    const commands: Buffer[] = [];
    for (let i = 0; i < 24; i += 1) {
      const so = rng.below(4096);
      const size = i < 8 ? i + 1 : rng.range(1, 8000);
      const dst = await ctx.alloc(size + 64);
      await ctx.write(dst, Buffer.alloc(size + 64, 0x5a));
      const dstOff = BigInt(rng.below(32));
      cases.push({ so, dst: dst + dstOff, size });
      commands.push(cmd.copy(src + BigInt(so), dst + dstOff, size));
    }
    await expectOk(d, ctx, commands);
    for (const c of cases) {
      const got = await ctx.read(c.dst, c.size);
      expect(got.equals(refCopy(srcData.subarray(c.so, c.so + c.size))), `copy of ${c.size} from +${c.so}`).toBe(true);
      // nothing written past the end
      const after = await ctx.read(c.dst + BigInt(c.size), 16);
      expect(after).toEqual(Buffer.alloc(16, 0x5a));
    }
  });

  test('COPY: multi-page, physically non-contiguous source and destination', async () => {
    const d = dev();
    const ctx = await d.context(2);
    const rng = new Prng(12);
    const size = 5 * 4096 - 100;
    const src = await ctx.alloc(6 * 4096, PERM_R);
    const dst = await ctx.alloc(6 * 4096, PERM_RW);
    expect(ctx.phys(src + 4096n) - ctx.phys(src)).not.toBe(4096);
    const data = rng.bytes(size);
    await ctx.write(src + 37n, data);
    await ctx.write(dst, Buffer.alloc(6 * 4096, 0));
    await expectOk(d, ctx, [cmd.copy(src + 37n, dst + 3n, size)]);
    const out = await ctx.read(dst, 6 * 4096);
    expect(out.subarray(3, 3 + size).equals(data)).toBe(true);
    expect(out.subarray(0, 3)).toEqual(Buffer.alloc(3));
    expect(out.subarray(3 + size).equals(Buffer.alloc(6 * 4096 - 3 - size))).toBe(true);
  });

  test('COPY: 3 MiB (several slices of work)', async () => {
    const d = dev();
    const ctx = await d.context(3);
    const size = 3 * 1024 * 1024 + 12;
    const rng = new Prng(13);
    const data = rng.bytes(size);
    const src = await ctx.alloc(size, PERM_R, { scattered: false });
    const dst = await ctx.alloc(size, PERM_W, { scattered: false });
    await ctx.write(src, data);
    const r = await d.run(ctx, [cmd.copy(src, dst, size)], {}, 0, { tries: 20_000 });
    expect(r.status).toBe(R.JOB_OK);
    expect((await ctx.read(dst, size)).equals(data)).toBe(true);
  });

  test('COPY: size 0 does nothing (no page touched, even unmapped ones)', async () => {
    const d = dev();
    const ctx = await d.context(4);
    const dst = await ctx.alloc(4096);
    await ctx.write(dst, Buffer.alloc(16, 0x77));
    await expectOk(d, ctx, [cmd.copy(dst + 8n, dst, 0)]);
    expect(await ctx.read(dst, 16)).toEqual(Buffer.alloc(16, 0x77));
    const unmapped = ctx.reserve(4096);
    await expectOk(d, ctx, [cmd.copy(unmapped, unmapped + 0x800n, 0)]);
    expect(await d.read(R.REG_FAULT_COUNT)).toBe(0);
  });

  test('COPY: adjacent (touching, not overlapping) ranges are allowed', async () => {
    const d = dev();
    const ctx = await d.context(5);
    const buf = await ctx.alloc(64);
    const data = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
    await ctx.write(buf, Buffer.concat([data, Buffer.alloc(32)]));
    await expectOk(d, ctx, [cmd.copy(buf, buf + 32n, 32)]);
    expect(await ctx.read(buf + 32n, 32)).toEqual(data);
  });
});

describe('6. FILL', () => {
  const dev = useOssa();

  test('FILL writes the 32-bit value little-endian over size bytes, and nothing more', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const rng = new Prng(21);
    const checks: Array<{ va: bigint; size: number; value: number }> = [];
    const commands: Buffer[] = [];
    for (const size of [4, 8, 12, 4096, 4100, 3 * 4096 + 40]) {
      const value = rng.u32();
      const buf = await ctx.alloc(size + 4096 + 64);
      const va = buf + BigInt(4 * rng.below(1000));
      await ctx.write(va, Buffer.alloc(size + 16, 0xa5));
      checks.push({ va, size, value });
      commands.push(cmd.fill(va, size, value));
    }
    await expectOk(d, ctx, commands);
    for (const c of checks) {
      expect((await ctx.read(c.va, c.size)).equals(refFill(c.value, c.size)), `FILL of ${c.size}`).toBe(true);
      expect(await ctx.read(c.va + BigInt(c.size), 16)).toEqual(Buffer.alloc(16, 0xa5));
    }
  });

  test('FILL: size 0 does nothing', async () => {
    const d = dev();
    const ctx = await d.context(2);
    const buf = await ctx.alloc(16);
    await ctx.write(buf, Buffer.alloc(16, 0x11));
    await expectOk(d, ctx, [cmd.fill(buf, 0, 0xffff_ffff)]);
    expect(await ctx.read(buf, 16)).toEqual(Buffer.alloc(16, 0x11));
  });

  test('FILL: 2 MiB over physically non-contiguous pages', async () => {
    const d = dev();
    const ctx = await d.context(3);
    const size = 2 * 1024 * 1024;
    const buf = await ctx.alloc(size);
    const r = await d.run(ctx, [cmd.fill(buf, size, 0xc0ffee11)], {}, 0, { tries: 20_000 });
    expect(r.status).toBe(R.JOB_OK);
    expect((await ctx.read(buf, size)).equals(refFill(0xc0ffee11, size))).toBe(true);
  });
});

describe('6. CRC32C', () => {
  const dev = useOssa();

  test('CRC32C of "123456789" with seed 0 is 0xE3069283, written as a u32 at dst', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const src = await ctx.alloc(16);
    const dst = await ctx.alloc(16);
    await ctx.write(src, Buffer.from('123456789'));
    await ctx.write(dst, Buffer.alloc(16, 0xee));
    await expectOk(d, ctx, [cmd.crc32c(src, 9, dst + 4n, 0)]);
    const out = await ctx.read(dst, 16);
    expect(out.readUInt32LE(4)).toBe(0xe3069283);
    expect(out.subarray(0, 4)).toEqual(Buffer.alloc(4, 0xee));
    expect(out.subarray(8)).toEqual(Buffer.alloc(8, 0xee));
  });

  test('CRC32C of random data at unaligned addresses, multi-page, with random seeds', async () => {
    const d = dev();
    const ctx = await d.context(2);
    const rng = new Prng(31);
    const data = rng.bytes(5 * 4096);
    const src = await ctx.alloc(data.length);
    await ctx.write(src, data);
    const out = await ctx.alloc(4 * 32);
    const want: number[] = [];
    const commands: Buffer[] = [];
    for (let i = 0; i < 32; i += 1) {
      const off = rng.below(4096);
      const size = i === 0 ? data.length - off : rng.below(data.length - off);
      const seed = i < 4 ? 0 : rng.u32();
      want.push(refCrc32c(data.subarray(off, off + size), seed));
      commands.push(cmd.crc32c(src + BigInt(off), size, out + BigInt(4 * i), seed));
    }
    await expectOk(d, ctx, commands);
    const got = await ctx.read(out, 4 * 32);
    expect(Array.from({ length: 32 }, (_, i) => got.readUInt32LE(4 * i))).toEqual(want);
  });

  test('CRC32C chaining: crc(seed = crc(A), B) = crc(A ‖ B)', async () => {
    const d = dev();
    const ctx = await d.context(3);
    const rng = new Prng(32);
    const a = rng.bytes(1000);
    const b = rng.bytes(3333);
    const src = await ctx.alloc(a.length + b.length);
    await ctx.write(src, Buffer.concat([a, b]));
    const out = await ctx.alloc(16);
    await expectOk(d, ctx, [cmd.crc32c(src, a.length, out)]);
    const crcA = await ctx.readU32(out);
    expect(crcA).toBe(refCrc32c(a));
    await expectOk(d, ctx, [cmd.crc32c(src + BigInt(a.length), b.length, out + 4n, crcA), cmd.crc32c(src, a.length + b.length, out + 8n)]);
    expect(await ctx.readU32(out + 4n)).toBe(refCrc32c(Buffer.concat([a, b])));
    expect(await ctx.readU32(out + 8n)).toBe(refCrc32c(Buffer.concat([a, b])));
  });

  test('CRC32C: size exactly 1 GiB (the limit) is accepted', { timeout: 120_000 }, async () => {
    const d = dev();
    const ctx = await d.context(5);
    const rng = new Prng(33);
    const page = rng.bytes(4096);
    const pa = await d.mem.allocZeroed(4096);
    await d.qt.write(pa, page);
    const { va } = await ctx.allocAliased(R.DATA_SIZE_MAX, PERM_R, pa);
    const out = await ctx.alloc(8);
    const r = await d.run(ctx, [cmd.crc32c(va, R.DATA_SIZE_MAX, out)], {}, 0, { tries: 2_000_000 });
    expect(r.status).toBe(R.JOB_OK);
    // crc of the page repeated 2^18 times, by doubling
    let crc = refCrc32c(page);
    for (let len = 4096; len < R.DATA_SIZE_MAX; len *= 2) crc = crc32cCombine(crc, crc, len);
    expect(await ctx.readU32(out)).toBe(crc);
  });

  test('CRC32C: size 0 gives the seed', async () => {
    const d = dev();
    const ctx = await d.context(4);
    const out = await ctx.alloc(8);
    await expectOk(d, ctx, [cmd.crc32c(out, 0, out, 0x1234_5678), cmd.crc32c(out, 0, out + 4n, 0)]);
    expect(await ctx.readU32(out)).toBe(0x1234_5678);
    expect(await ctx.readU32(out + 4n)).toBe(0);
  });
});

/** Edge values of binary32, as bits. */
const EDGE_F32 = [
  0x0000_0000, 0x8000_0000, 0x3f80_0000, 0xbf80_0000, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 0x7f80_0001,
  0xffc1_2345, 0x0000_0001, 0x8000_0001, 0x007f_ffff, 0x0080_0000, 0x7f7f_ffff, 0xff7f_ffff, 0x3f80_0001,
  0x3f7f_ffff, 0x4000_0000, 0x3400_0000, 0x3380_0000, 0x2f80_0000,
];

function fmaInputs(rng: Prng, n: number): [Uint32Array, Uint32Array, Uint32Array] {
  const a = new Uint32Array(n);
  const b = new Uint32Array(n);
  const c = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) {
    const kind = i % 4;
    if (kind === 0) {
      a[i] = rng.u32();
      b[i] = rng.u32();
      c[i] = rng.u32();
    } else if (kind === 1) {
      a[i] = rng.pick(EDGE_F32);
      b[i] = rng.pick(EDGE_F32);
      c[i] = rng.pick(EDGE_F32);
    } else if (kind === 2) {
      // similar magnitudes: cancellation
      const av = (rng.u32() & 0x807f_ffff) | (rng.range(110, 140) << 23);
      const bv = (rng.u32() & 0x807f_ffff) | (rng.range(110, 140) << 23);
      a[i] = av;
      b[i] = bv;
      c[i] = f32Bits(-Math.fround(f32FromBits(av) * f32FromBits(bv))) + rng.range(-2, 2);
    } else {
      // near binary32 midpoints: h (1 - 2^-2j) next to c, h = ulp(c) / 2
      const ec = rng.range(60, 190);
      const j = rng.range(12, 23);
      a[i] = f32Bits(1 - 2 ** -j);
      b[i] = f32Bits((rng.chance(0.5) ? 1 : -1) * (1 + 2 ** -j) * 2 ** (ec - 127 - 24));
      c[i] = (rng.u32() & 0x807f_ffff) | (ec << 23);
    }
  }
  return [a, b, c];
}

describe('6. FMA_F32', () => {
  const dev = useOssa();

  async function runFma(d: Ossa, ctx: Context, a: Uint32Array, b: Uint32Array, c: Uint32Array, offsets = [0, 0, 0, 0]): Promise<Uint32Array> {
    const n = a.length;
    const bufs: bigint[] = [];
    for (const [i, arr] of [a, b, c].entries()) {
      const va = (await ctx.alloc(4 * n + 64, PERM_R)) + BigInt(offsets[i] ?? 0);
      await ctx.write(va, u32Bytes(arr));
      bufs.push(va);
    }
    const dva = (await ctx.alloc(4 * n + 64, PERM_W)) + BigInt(offsets[3] ?? 0);
    const r = await d.run(ctx, [cmd.fmaF32(n, bufs[0] ?? 0n, bufs[1] ?? 0n, bufs[2] ?? 0n, dva)], {}, 0, { tries: 20_000 });
    expect(r.status).toBe(R.JOB_OK);
    return bytesU32(await ctx.read(dva, 4 * n));
  }

  const hexes = (a: Uint32Array): string[] => Array.from(a, (v) => v.toString(16).padStart(8, '0'));

  test('FMA_F32: random, edge (inf, NaN, subnormal, zeros) and near-tie values match the reference', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const [a, b, c] = fmaInputs(new Prng(41), 3000);
    const got = await runFma(d, ctx, a, b, c, [4, 8, 12, 20]);
    expect(hexes(got)).toEqual(hexes(refFmaF32(a, b, c)));
  });

  test('FMA_F32: rounded once (cases where a float64 a*b+c then rounding to float32 is wrong)', async () => {
    const d = dev();
    const ctx = await d.context(2);
    const bits = (x: number): number => f32Bits(x);
    const a = Uint32Array.of(bits(65281 / 65536), bits(1 - 2 ** -15), bits(-65281 / 65536), bits(1 + 2 ** -23));
    const b = Uint32Array.of(bits(257 / 256), bits((1 + 2 ** -15) * 2 ** -24), bits(257 / 256), bits(1 + 2 ** -23));
    const c = Uint32Array.of(bits(2 ** -80), bits(1 + 2 ** -23), bits(-(2 ** -80)), bits(-(1 + 2 ** -22)));
    const got = await runFma(d, ctx, a, b, c);
    expect(hexes(got)).toEqual(hexes(Uint32Array.of(0x3f80_0001, 0x3f80_0001, 0xbf80_0001, bits(2 ** -46))));
  });

  test('FMA_F32: NaN results are written as 0x7fc00000', async () => {
    const d = dev();
    const ctx = await d.context(3);
    const inf = 0x7f80_0000;
    const a = Uint32Array.of(inf, inf, 0x7f80_0001, 0xffc1_2345, 0x3f80_0000);
    const b = Uint32Array.of(0, 0x3f80_0000, 0x3f80_0000, 0x3f80_0000, 0x3f80_0000);
    const c = Uint32Array.of(0x3f80_0000, 0xff80_0000, 0, 0, 0xffc0_0001);
    expect(hexes(await runFma(d, ctx, a, b, c))).toEqual(hexes(new Uint32Array(5).fill(R.FMA_NAN)));
    expect(R.FMA_NAN).toBe(0x7fc0_0000);
  });

  test('FMA_F32: subnormal inputs and results are kept (no flush to zero)', async () => {
    const d = dev();
    const ctx = await d.context(4);
    const a = Uint32Array.of(0x0080_0000, 1, 3, 0x0000_0100, f32Bits(2 ** -100));
    const b = Uint32Array.of(f32Bits(0.5), 0x3f80_0000, f32Bits(0.5), f32Bits(3), f32Bits(2 ** -40));
    const c = Uint32Array.of(0, 1, 0, 0x8000_0001, 0);
    const got = await runFma(d, ctx, a, b, c);
    expect(hexes(got)).toEqual(hexes(refFmaF32(a, b, c)));
    expect(got[0]).toBe(0x0040_0000);
    expect(got[4]).toBe(f32Bits(2 ** -140));
  });

  test('FMA_F32: d may be the same array as a, b or c', async () => {
    const d = dev();
    const ctx = await d.context(5);
    const n = 700;
    const [a, b, c] = fmaInputs(new Prng(42), n);
    const want = refFmaF32(a, b, c);
    for (const which of [0, 1, 2] as const) {
      const bufs: bigint[] = [];
      for (const arr of [a, b, c]) {
        const va = await ctx.alloc(4 * n);
        await ctx.write(va, u32Bytes(arr));
        bufs.push(va);
      }
      const dva = bufs[which] ?? 0n;
      await expectOk(d, ctx, [cmd.fmaF32(n, bufs[0] ?? 0n, bufs[1] ?? 0n, bufs[2] ?? 0n, dva)]);
      expect(hexes(bytesU32(await ctx.read(dva, 4 * n))), `d = ${'abc'[which]}`).toEqual(hexes(want));
    }
  });

  test('FMA_F32: count 0 writes nothing', async () => {
    const d = dev();
    const ctx = await d.context(6);
    const buf = await ctx.alloc(64);
    await ctx.write(buf, Buffer.alloc(64, 0x33));
    await expectOk(d, ctx, [cmd.fmaF32(0, buf, buf + 16n, buf + 32n, buf + 48n)]);
    expect(await ctx.read(buf, 64)).toEqual(Buffer.alloc(64, 0x33));
  });

  test('FMA_F32: count exactly 2^24 (the limit) is accepted', { timeout: 120_000 }, async () => {
    const d = dev();
    const ctx = await d.context(7);
    const size = 4 * R.FMA_COUNT_MAX;
    const inPage = await d.mem.allocZeroed(4096);
    const one = Buffer.alloc(4096);
    for (let i = 0; i < 4096; i += 4) one.writeUInt32LE(0x4000_0000, i); // 2.0
    await d.qt.write(inPage, one);
    const a = await ctx.allocAliased(size, PERM_R, inPage);
    const b = await ctx.allocAliased(size, PERM_R, inPage);
    const c = await ctx.allocAliased(size, PERM_R, inPage);
    const out = await ctx.allocAliased(size, PERM_W);
    const r = await d.run(ctx, [cmd.fmaF32(R.FMA_COUNT_MAX, a.va, b.va, c.va, out.va)], {}, 0, { tries: 2_000_000 });
    expect(r.status).toBe(R.JOB_OK);
    const res = bytesU32(await d.qt.read(out.pa, 4096));
    expect(Array.from(new Set(res))).toEqual([refFmaF32Bits(0x4000_0000, 0x4000_0000, 0x4000_0000)]);
  });
});

describe('6. FENCE', () => {
  const dev = useOssa();

  test('FENCE writes the 64-bit value at addr after the earlier commands', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const size = 2 * 1024 * 1024;
    const big = await ctx.alloc(size, PERM_RW, { scattered: false });
    const f = await ctx.alloc(16);
    await ctx.write(f, Buffer.alloc(16, 0xff));
    await expectOk(d, ctx, [cmd.fill(big, size, 0x0101_0101), cmd.fence(f + 8n, 0x0123_4567_89ab_cdefn)]);
    expect(await ctx.readU64(f + 8n)).toBe(0x0123_4567_89ab_cdefn);
    expect(await ctx.read(f, 8)).toEqual(Buffer.alloc(8, 0xff));
    expect((await ctx.read(big + BigInt(size - 4), 4)).readUInt32LE(0)).toBe(0x0101_0101);
  });

  test.each([0, 1])('FENCE with IRQ (flags bit 0) raises QUEUE_JOB(%i); without it, it does not', async (q) => {
    const d = dev();
    const ctx = await d.context(2);
    const f = await ctx.alloc(8);
    await expectOk(d, ctx, [cmd.fence(f, 1n, 0)], q);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(0);
    await expectOk(d, ctx, [cmd.fence(f, 2n, R.CMD_FENCE_FLAG_IRQ)], q);
    expect(await d.read(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_JOB(q));
    expect(await ctx.readU64(f)).toBe(2n);
  });
});

describe('6. TIMESTAMP', () => {
  const dev = useOssa();

  test('TIMESTAMP writes the device time as a u64, between the job\'s START_NS and END_NS', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const t = await ctx.alloc(32);
    await ctx.write(t, Buffer.alloc(32, 0xee));
    await d.qt.clockStep(777_777);
    const before = await d.time();
    const r = await d.run(ctx, [cmd.timestamp(t + 8n)]);
    expect(r.status).toBe(R.JOB_OK);
    const ts = await ctx.readU64(t + 8n);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeGreaterThanOrEqual(r.startNs);
    expect(ts).toBeLessThanOrEqual(r.endNs);
    expect(await ctx.read(t, 8)).toEqual(Buffer.alloc(8, 0xee));
    expect(await ctx.read(t + 16n, 16)).toEqual(Buffer.alloc(16, 0xee));
  });

  test('TIMESTAMPs in one job follow device time (across an injected delay)', async () => {
    const d = dev();
    const ctx = await d.context(2);
    const t = await ctx.alloc(16);
    await d.write(R.REG_INJECT_DELAY_US, 20);
    const r = await d.run(ctx, [cmd.timestamp(t), ...Array.from({ length: 70 }, () => cmd.nop()), cmd.timestamp(t + 8n)], {}, 0, { stepClock: true });
    expect(r.status).toBe(R.JOB_OK);
    const t0 = await ctx.readU64(t);
    const t1 = await ctx.readU64(t + 8n);
    expect(t1 - t0).toBeGreaterThanOrEqual(20_000n);
    expect(t0).toBeGreaterThanOrEqual(r.startNs);
    expect(t1).toBeLessThanOrEqual(r.endNs);
  });
});
