/**
 * Unit tests of the TypeScript reference implementation (no QEMU): known
 * values, and FMA_F32 cross-checked against an exact big-integer oracle.
 */
import { describe, expect, test } from 'vitest';
import { Prng } from '../../src/prng.js';
import {
  crc32cCombine,
  crc32cRaw,
  f32Bits,
  f32FromBits,
  FMA_NAN_BITS,
  refCopy,
  refCrc32c,
  refFill,
  refFmaF32,
  refFmaF32Bits,
} from '../../src/reference.js';

/** Exact a*b+c rounded once to binary32, by big-integer arithmetic (slow, obviously right). */
function oracleFma(aBits: number, bBits: number, cBits: number): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  const c = f32FromBits(cBits);
  if (!Number.isFinite(a) || !Number.isFinite(b) || !Number.isFinite(c)) {
    const r = a * b + c; // infinities are exact
    return Number.isNaN(r) ? FMA_NAN_BITS : f32Bits(r);
  }
  const decode = (bits: number): { neg: boolean; mant: bigint; exp: number } => {
    const e = (bits >>> 23) & 0xff;
    const m = bits & 0x7fffff;
    return { neg: bits >>> 31 === 1, mant: BigInt(e === 0 ? m : m | 0x800000), exp: e === 0 ? -149 : e - 150 };
  };
  const E0 = -400;
  const da = decode(aBits);
  const db = decode(bBits);
  const dc = decode(cBits);
  const pNeg = da.neg !== db.neg;
  const pMag = (da.mant * db.mant) << BigInt(da.exp + db.exp - E0);
  const cMag = dc.mant << BigInt(dc.exp - E0);
  const n = (pNeg ? -pMag : pMag) + (dc.neg ? -cMag : cMag);
  if (n === 0n) {
    const pZeroNeg = pMag === 0n && pNeg;
    const cZeroNeg = cMag === 0n && dc.neg;
    return (pMag === 0n && cMag === 0n && pZeroNeg && cZeroNeg) ? 0x8000_0000 : 0;
  }
  const neg = n < 0n;
  const mag = neg ? -n : n;
  const e = mag.toString(2).length - 1 + E0;
  const q = Math.max(e - 23, -149);
  const shift = BigInt(q - E0);
  let r = mag >> shift;
  const rem = mag - (r << shift);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && (r & 1n) === 1n)) r += 1n;
  let v = Number(r) * 2 ** q;
  if (v > 3.4028234663852886e38) v = Number.POSITIVE_INFINITY;
  return f32Bits(neg ? -v : v);
}

function naiveFma(aBits: number, bBits: number, cBits: number): number {
  const r = Math.fround(f32FromBits(aBits) * f32FromBits(bBits) + f32FromBits(cBits));
  return Number.isNaN(r) ? FMA_NAN_BITS : f32Bits(r);
}

const bits = (x: number): number => f32Bits(x);
const hex = (x: number): string => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;

describe('reference CRC32C', () => {
  test('"123456789" gives 0xE3069283', () => {
    expect(refCrc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  test('RFC 3720 (iSCSI) test vectors', () => {
    expect(refCrc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(refCrc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(refCrc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(refCrc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
  });

  test('empty data with seed 0 is 0, and returns the seed otherwise', () => {
    expect(refCrc32c(Buffer.alloc(0))).toBe(0);
    expect(refCrc32c(Buffer.alloc(0), 0x12345678)).toBe(0x12345678);
  });

  test('chaining: crc(seed = crc(A), B) = crc(A ‖ B)', () => {
    const rng = new Prng(7);
    for (let i = 0; i < 50; i += 1) {
      const a = rng.bytes(rng.below(100));
      const b = rng.bytes(rng.below(100));
      expect(refCrc32c(b, refCrc32c(a))).toBe(refCrc32c(Buffer.concat([a, b])));
    }
  });

  test('crc32cCombine(crc(A), crc(B), |B|) = crc(A ‖ B)', () => {
    const rng = new Prng(8);
    for (let i = 0; i < 50; i += 1) {
      const a = rng.bytes(rng.below(300));
      const b = rng.bytes(rng.below(300));
      expect(crc32cCombine(refCrc32c(a), refCrc32c(b), b.length)).toBe(refCrc32c(Buffer.concat([a, b])));
    }
  });

  test('result = ~raw(~seed, data)', () => {
    const d = Buffer.from('ossa');
    expect(refCrc32c(d, 0xdeadbeef)).toBe(~crc32cRaw(~0xdeadbeef >>> 0, d) >>> 0);
  });
});

describe('reference COPY and FILL', () => {
  test('COPY copies bytes', () => {
    const src = Buffer.from([1, 2, 3, 4, 5]);
    expect(refCopy(src)).toEqual(src);
  });

  test('FILL writes the value little-endian', () => {
    expect(refFill(0x11223344, 8)).toEqual(Buffer.from([0x44, 0x33, 0x22, 0x11, 0x44, 0x33, 0x22, 0x11]));
    expect(refFill(0, 0).length).toBe(0);
    expect(() => refFill(1, 6)).toThrow(RangeError);
  });
});

describe('reference FMA_F32', () => {
  test('simple values', () => {
    expect(refFmaF32Bits(bits(1), bits(1), bits(1))).toBe(bits(2));
    expect(refFmaF32Bits(bits(2), bits(3), bits(4))).toBe(bits(10));
    expect(refFmaF32Bits(bits(-1.5), bits(2), bits(0.25))).toBe(bits(-2.75));
  });

  test('double rounding: exact result just above a binary32 midpoint rounds up (naive rounds to even)', () => {
    // a*b = 1 + 2^-24 exactly (16777217 = 65281 * 257), the midpoint of 1 and 1 + 2^-23;
    // + 2^-80 puts the exact sum just above it, but the binary64 sum loses the 2^-80.
    const a = bits(65281 / 65536);
    const b = bits(257 / 256);
    const c = bits(2 ** -80);
    expect(refFmaF32Bits(a, b, c)).toBe(0x3f800001);
    expect(naiveFma(a, b, c)).toBe(0x3f800000);
    expect(refFmaF32Bits(a ^ 0x8000_0000, b, c ^ 0x8000_0000)).toBe(0xbf800001);
  });

  test('double rounding: exact result just below a binary32 midpoint rounds down (naive rounds to even)', () => {
    // a*b = 2^-24 (1 - 2^-30) = 2^-24 - 2^-54; + (1 + 2^-23) is 2^-54 below the
    // midpoint of 1 + 2^-23 and 1 + 2^-22, which is where the binary64 sum lands.
    const a = bits(1 - 2 ** -15);
    const b = bits((1 + 2 ** -15) * 2 ** -24);
    const c = bits(1 + 2 ** -23);
    expect(refFmaF32Bits(a, b, c)).toBe(0x3f800001);
    expect(naiveFma(a, b, c)).toBe(0x3f800002);
  });

  test('an exact tie is rounded to even', () => {
    // 1 + 2^-24 exactly: even neighbour is 1.0
    expect(refFmaF32Bits(bits(65281 / 65536), bits(257 / 256), 0)).toBe(0x3f800000);
  });

  test('fused: the product is not rounded before the addition', () => {
    // (1 + 2^-23)^2 - (1 + 2^-22) = 2^-46 exactly; rounding the product first gives 0
    const a = bits(1 + 2 ** -23);
    expect(refFmaF32Bits(a, a, bits(-(1 + 2 ** -22)))).toBe(bits(2 ** -46));
    expect(f32Bits(Math.fround(Math.fround(f32FromBits(a) * f32FromBits(a)) - (1 + 2 ** -22)))).toBe(0);
  });

  test('NaN results are the quiet NaN 0x7fc00000', () => {
    const inf = bits(Infinity);
    expect(refFmaF32Bits(inf, 0, bits(1))).toBe(FMA_NAN_BITS);
    expect(refFmaF32Bits(inf, bits(1), bits(-Infinity))).toBe(FMA_NAN_BITS);
    expect(refFmaF32Bits(0x7f80_0001, bits(1), bits(1))).toBe(FMA_NAN_BITS); // signalling NaN in
    expect(refFmaF32Bits(bits(1), bits(1), 0xffc0_1234)).toBe(FMA_NAN_BITS); // negative NaN with payload
    expect(refFmaF32Bits(0x7fc0_0000, 0, 0)).toBe(FMA_NAN_BITS);
  });

  test('infinities', () => {
    const max = 0x7f7f_ffff;
    expect(refFmaF32Bits(max, bits(2), 0)).toBe(0x7f80_0000);
    expect(refFmaF32Bits(max, bits(-2), 0)).toBe(0xff80_0000);
    expect(refFmaF32Bits(bits(Infinity), bits(1), bits(1))).toBe(0x7f80_0000);
    expect(refFmaF32Bits(bits(2), bits(3), bits(-Infinity))).toBe(0xff80_0000);
    // FLT_MAX + half an ulp is a tie, rounded to even: infinity
    expect(refFmaF32Bits(max, bits(1), bits(2 ** 103))).toBe(0x7f80_0000);
    // just below that tie: FLT_MAX
    expect(refFmaF32Bits(max, bits(1), bits(2 ** 102))).toBe(max);
  });

  test('subnormal inputs and results are kept', () => {
    expect(refFmaF32Bits(0x0080_0000, bits(0.5), 0)).toBe(0x0040_0000); // 2^-127
    expect(refFmaF32Bits(1, bits(1), 1)).toBe(2); // 2^-149 + 2^-149
    expect(refFmaF32Bits(1, bits(0.5), 0)).toBe(0); // 2^-150: tie to even, 0
    expect(refFmaF32Bits(3, bits(0.5), 0)).toBe(2); // 1.5 * 2^-149: tie to even, 2
    expect(refFmaF32Bits(1, bits(0.75), 0)).toBe(1); // 0.75 * 2^-149 rounds up
    expect(refFmaF32Bits(bits(2 ** -100), bits(2 ** -40), 0)).toBe(bits(2 ** -140));
  });

  test('signed zeros', () => {
    expect(refFmaF32Bits(bits(-1), 0, 0)).toBe(0);
    expect(refFmaF32Bits(bits(-1), 0, 0x8000_0000)).toBe(0x8000_0000);
    expect(refFmaF32Bits(bits(1), bits(1), bits(-1))).toBe(0);
    expect(refFmaF32Bits(bits(-(2 ** -100)), bits(2 ** -100), 0)).toBe(0x8000_0000); // underflows to -0
  });

  test('agrees with an exact big-integer oracle on random and near-tie inputs', () => {
    const rng = new Prng(0x05a5);
    let naiveWrong = 0;
    const check = (a: number, b: number, c: number): void => {
      const want = oracleFma(a, b, c);
      const got = refFmaF32Bits(a, b, c);
      if (got !== want) throw new Error(`fma(${hex(a)}, ${hex(b)}, ${hex(c)}) = ${hex(got)}, oracle ${hex(want)}`);
      if (naiveFma(a, b, c) !== want) naiveWrong += 1;
    };
    for (let i = 0; i < 20000; i += 1) {
      // fully random bit patterns
      check(rng.u32(), rng.u32(), rng.u32());
      // values of similar magnitude, with cancellation
      const ea = rng.range(100, 150);
      const a = (rng.u32() & 0x807f_ffff) | (ea << 23);
      const b = (rng.u32() & 0x807f_ffff) | (rng.range(100, 150) << 23);
      const p = Math.fround(f32FromBits(a) * f32FromBits(b));
      check(a, b, f32Bits(-p) + rng.range(-3, 3));
      // a product a hair off half an ulp of c: h (1 - 2^-2j), with h = ulp(c) / 2,
      // from (1 - 2^-j) (1 + 2^-j); the exact sum is next to a binary32 midpoint
      const ec = rng.range(60, 190);
      const c = (rng.u32() & 0x807f_ffff) | (ec << 23);
      const j = rng.range(12, 23);
      const h = 2 ** (ec - 127 - 24);
      const sign = rng.chance(0.5) ? 1 : -1;
      check(bits(1 - 2 ** -j), bits(sign * (1 + 2 ** -j) * h), c);
      // a small addend next to a product exactly on a midpoint, 1 + 2^-24 = (65281 / 2^16) (257 / 2^8)
      const scale = 2 ** rng.range(-20, 20);
      check(bits((65281 / 65536) * scale), bits(257 / 256), bits(sign * scale * 2 ** -rng.range(30, 100)));
      // subnormal range
      check(rng.u32() & 0x80ff_ffff, (rng.u32() & 0x807f_ffff) | (rng.range(120, 135) << 23), rng.u32() & 0x80ff_ffff);
    }
    // the near-tie cases are where a naive float64 computation goes wrong
    expect(naiveWrong).toBeGreaterThan(0);
  });

  test('refFmaF32 maps over arrays', () => {
    const a = Uint32Array.of(bits(1), bits(2));
    const b = Uint32Array.of(bits(3), bits(4));
    const c = Uint32Array.of(bits(5), bits(6));
    expect(Array.from(refFmaF32(a, b, c))).toEqual([bits(8), bits(14)]);
  });
});
