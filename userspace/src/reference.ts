/**
 * Reference results of the ossa commands (docs/hardware.md section 6),
 * computed in TypeScript, to compare the device against.
 */

// --- COPY, FILL ----------------------------------------------------------------

/** COPY: the destination holds the source's bytes. */
export function refCopy(src: Uint8Array): Buffer {
  return Buffer.from(src);
}

/** FILL: `size` bytes of the little-endian u32 `value` repeated (size a multiple of 4). */
export function refFill(value: number, size: number): Buffer {
  if (size % 4 !== 0) throw new RangeError('FILL size must be a multiple of 4');
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE(value >>> 0, i);
  return b;
}

// --- CRC32C ------------------------------------------------------------------------

/** The reflected Castagnoli polynomial (0x1EDC6F41 bit-reversed). */
const CRC32C_POLY_REFLECTED = 0x82f63b78;

const CRC32C_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY_REFLECTED : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The raw register computation: no initial or final inversion. */
export function crc32cRaw(reg: number, data: Uint8Array): number {
  let c = reg >>> 0;
  for (const byte of data) c = ((CRC32C_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8)) >>> 0;
  return c >>> 0;
}

/** CRC32C command result: `~raw(~seed, data)`; seed 0 gives the plain CRC-32C. */
export function refCrc32c(data: Uint8Array, seed = 0): number {
  return ~crc32cRaw(~seed >>> 0, data) >>> 0;
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  let v = vec >>> 0;
  for (let i = 0; v !== 0; i += 1, v >>>= 1) if (v & 1) sum ^= mat[i] ?? 0;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n += 1) square[n] = gf2Times(mat, mat[n] ?? 0);
}

/**
 * crc(A ‖ B) from crc(A), crc(B) and the length of B (zlib's
 * crc32_combine, with the Castagnoli polynomial): for checking very large
 * CRCs without hashing every byte.
 */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = CRC32C_POLY_REFLECTED;
  for (let n = 1, row = 1; n < 32; n += 1, row <<= 1) odd[n] = row >>> 0;
  gf2Square(even, odd); // 2 zero bits
  gf2Square(odd, even); // 4 zero bits
  let crc = crcA >>> 0;
  let len = lengthB;
  for (;;) {
    gf2Square(even, odd);
    if (len % 2 === 1) crc = gf2Times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2 === 1) crc = gf2Times(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crcB) >>> 0;
}

// --- FMA_F32 -----------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0] ?? Number.NaN;
}

export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0] ?? 0;
}

/** The quiet NaN every NaN result is written as. */
export const FMA_NAN_BITS = 0x7fc0_0000;

/** The binary32 value following `x` (x a binary32 value, not NaN, not +inf). */
function nextUp32(x: number): number {
  if (x === 0) return f32FromBits(1);
  const b = f32Bits(x);
  return f32FromBits(x > 0 ? b + 1 : b - 1);
}

/** The binary32 value before `x` (x a binary32 value, not NaN, not -inf). */
function nextDown32(x: number): number {
  return -nextUp32(-x);
}

/**
 * The exact midpoint of two adjacent binary32 values lo < hi, in binary64:
 * exact, as it needs at most 25 significant bits (when hi overflows to
 * infinity: FLT_MAX plus half its ulp).
 */
function midpoint(lo: number, hi: number): number {
  if (hi === Number.POSITIVE_INFINITY) return lo + (lo - nextDown32(lo)) / 2;
  if (lo === Number.NEGATIVE_INFINITY) return hi - (nextUp32(hi) - hi) / 2;
  return lo / 2 + hi / 2;
}

/**
 * d = a × b + c on binary32 values (given and returned as bit patterns),
 * computed exactly and rounded once to nearest, ties to even; subnormals
 * kept; any NaN result is 0x7fc00000.
 *
 * The product of two binary32 values is exact in binary64 (48 significant
 * bits, exponents well within range). The sum s = p + c is rounded to
 * binary64 with error e (TwoSum). Rounding s to binary32 (Math.fround) is
 * then right unless s lies exactly on the midpoint of two binary32
 * neighbours while e is not 0: the exact result is then on e's side of it.
 */
export function refFmaF32Bits(aBits: number, bBits: number, cBits: number): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  const c = f32FromBits(cBits);
  const p = a * b;
  const s = p + c;
  if (Number.isNaN(s)) return FMA_NAN_BITS;
  if (!Number.isFinite(s)) return f32Bits(s);
  const bb = s - p;
  const e = p - (s - bb) + (c - bb);
  let r = Math.fround(s);
  if (e !== 0 && r !== s) {
    const lo = r < s ? r : nextDown32(r);
    const hi = r < s ? nextUp32(r) : r;
    if (s === midpoint(lo, hi)) r = e > 0 ? hi : lo;
  }
  return f32Bits(r);
}

/** FMA_F32 over arrays of bit patterns. */
export function refFmaF32(a: Uint32Array, b: Uint32Array, c: Uint32Array): Uint32Array {
  const d = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i += 1) d[i] = refFmaF32Bits(a[i] ?? 0, b[i] ?? 0, c[i] ?? 0);
  return d;
}

/** Bytes (little-endian) of a u32 array. */
export function u32Bytes(a: Uint32Array): Buffer {
  const b = Buffer.alloc(a.length * 4);
  a.forEach((v, i) => b.writeUInt32LE(v, i * 4));
  return b;
}

/** A u32 array from little-endian bytes. */
export function bytesU32(b: Uint8Array): Uint32Array {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out = new Uint32Array(Math.floor(b.length / 4));
  for (let i = 0; i < out.length; i += 1) out[i] = buf.readUInt32LE(i * 4);
  return out;
}
