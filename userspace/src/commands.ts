/**
 * The device's command stream (docs/hardware.md, section 6): a builder that
 * encodes commands back to back, little-endian, 8-byte aligned. Addresses
 * are device VAs, as DeviceBuffer.va gives them.
 */

/** Opcodes and sizes, as in qemu-device/ossa_regs.h (checked by a host test). */
export const OPCODES = {
  nop: { opcode: 0x00, size: 8 },
  copy: { opcode: 0x01, size: 32 },
  fill: { opcode: 0x02, size: 24 },
  crc32c: { opcode: 0x03, size: 32 },
  fmaF32: { opcode: 0x04, size: 40 },
  fence: { opcode: 0x05, size: 24 },
  timestamp: { opcode: 0x06, size: 16 },
} as const;
export type CommandName = keyof typeof OPCODES;

export const FENCE_FLAG_IRQ = 0x1;
/** Limits of docs/hardware.md, section 11. */
export const DATA_SIZE_MAX = 0x4000_0000;
export const FMA_COUNT_MAX = 0x100_0000;
export const CMD_SIZE_MAX = 0x10_0000;

export type Address = number | bigint;

const u64 = (v: Address): bigint => BigInt.asUintN(64, BigInt(v));

/**
 * One command of `size` bytes: the opcode, the argument word, then u64
 * fields (those past `size` are dropped). Any opcode and values, including
 * ones the device refuses: CommandStream uses it for the valid commands,
 * tests for the others.
 */
export function encodeCommand(opcode: number, arg: number, fields: readonly Address[], size = 8 + 8 * fields.length): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(opcode >>> 0, 0);
  b.writeUInt32LE(arg >>> 0, 4);
  fields.forEach((f, i) => {
    if (16 + 8 * i <= size) b.writeBigUInt64LE(u64(f), 8 + 8 * i);
  });
  return b;
}

/** Builds a command stream. Each method appends a command and returns this. */
export class CommandStream {
  #chunks: Buffer[] = [];
  #size = 0;
  #count: Record<CommandName, number> = { nop: 0, copy: 0, fill: 0, crc32c: 0, fmaF32: 0, fence: 0, timestamp: 0 };

  #push(name: CommandName, arg: number, ...fields: Address[]): this {
    const { opcode, size } = OPCODES[name];
    this.#chunks.push(encodeCommand(opcode, arg, fields, size));
    this.#size += size;
    this.#count[name]++;
    return this;
  }

  nop(): this {
    return this.#push('nop', 0);
  }

  /** Copies `size` bytes; the ranges must not overlap. */
  copy(src: Address, dst: Address, size: Address): this {
    return this.#push('copy', 0, src, dst, size);
  }

  /** Writes the 32-bit `value` over `size` bytes (both 4-aligned). */
  fill(dst: Address, size: Address, value: number): this {
    return this.#push('fill', value, dst, size);
  }

  /** Writes CRC-32C of `size` bytes at `src`, continuing from `seed`, as a u32 at `dst`. */
  crc32c(src: Address, size: Address, dst: Address, seed = 0): this {
    return this.#push('crc32c', seed, src, size, dst);
  }

  /** d[i] = a[i] * b[i] + c[i] on `count` binary32 values, rounded once. */
  fmaF32(count: number, a: Address, b: Address, c: Address, d: Address): this {
    return this.#push('fmaF32', count, a, b, c, d);
  }

  /** Writes `value` as a u64 at `addr` after the earlier commands; `irq` interrupts. */
  fence(addr: Address, value: Address, options: { irq?: boolean } = {}): this {
    return this.#push('fence', options.irq ? FENCE_FLAG_IRQ : 0, addr, value);
  }

  /** Writes the device time (ns) as a u64 at `addr`. */
  timestamp(addr: Address): this {
    return this.#push('timestamp', 0, addr);
  }

  /** Bytes of the stream so far. */
  get size(): number {
    return this.#size;
  }

  /** How many commands of each kind the stream holds. */
  get counts(): Readonly<Record<CommandName, number>> {
    return { ...this.#count };
  }

  /** The encoded stream. */
  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks, this.#size);
  }

  /** Writes the encoded stream into `target` at `offset`, allocating nothing. */
  writeTo(target: Uint8Array, offset: number): void {
    let at = offset;
    const chunks = this.#chunks;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i] as Buffer;
      target.set(chunk, at);
      at += chunk.length;
    }
  }
}
