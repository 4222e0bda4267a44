/**
 * Encoders of the ossa command stream (docs/hardware.md section 6) and of
 * job descriptors (5.3), and a decoder of a descriptor's result fields.
 */
import { encodeCommand } from '../../userspace/src/commands.js';
import { R } from './regs.js';

export type U64 = number | bigint;

function big(v: U64): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));
}

/** Builds one command of `size` bytes: the opcode, the argument word, then u64 fields. */
export function rawCommand(opcode: number, arg: number, fields: readonly U64[], size?: number): Buffer {
  return encodeCommand(opcode, arg, fields, size);
}

export const cmd = {
  nop(reserved = 0): Buffer {
    return rawCommand(R.CMD_NOP, reserved, [], R.CMD_NOP_SIZE);
  },
  copy(src: U64, dst: U64, size: U64, reserved = 0): Buffer {
    return rawCommand(R.CMD_COPY, reserved, [src, dst, size], R.CMD_COPY_SIZE);
  },
  fill(dst: U64, size: U64, value: number): Buffer {
    return rawCommand(R.CMD_FILL, value, [dst, size], R.CMD_FILL_SIZE);
  },
  crc32c(src: U64, size: U64, dst: U64, seed = 0): Buffer {
    return rawCommand(R.CMD_CRC32C, seed, [src, size, dst], R.CMD_CRC32C_SIZE);
  },
  fmaF32(count: number, a: U64, b: U64, c: U64, d: U64): Buffer {
    return rawCommand(R.CMD_FMA_F32, count, [a, b, c, d], R.CMD_FMA_F32_SIZE);
  },
  fence(addr: U64, value: U64, flags = 0): Buffer {
    return rawCommand(R.CMD_FENCE, flags, [addr, value], R.CMD_FENCE_SIZE);
  },
  timestamp(addr: U64, reserved = 0): Buffer {
    return rawCommand(R.CMD_TIMESTAMP, reserved, [addr], R.CMD_TIMESTAMP_SIZE);
  },
};

/** Concatenates commands into a stream. */
export function stream(...cmds: Buffer[]): Buffer {
  return Buffer.concat(cmds);
}

/** What the driver writes in a descriptor (bytes 0x00..0x1f). */
export interface Descriptor {
  flags?: number;
  context: number;
  cmdAddr: U64;
  cmdSize: number;
  reserved?: number;
  userData?: U64;
}

/** The 64 bytes of a descriptor; the device half is filled with `fill` (so write-back is visible). */
export function encodeDescriptor(d: Descriptor, fill = 0xee): Buffer {
  const b = Buffer.alloc(R.DESC_SIZE, fill);
  b.writeUInt32LE((d.flags ?? 0) >>> 0, R.DESC_FLAGS);
  b.writeUInt32LE(d.context >>> 0, R.DESC_CONTEXT);
  b.writeBigUInt64LE(big(d.cmdAddr), R.DESC_CMD_ADDR);
  b.writeUInt32LE(d.cmdSize >>> 0, R.DESC_CMD_SIZE);
  b.writeUInt32LE((d.reserved ?? 0) >>> 0, R.DESC_RESERVED);
  b.writeBigUInt64LE(big(d.userData ?? 0n), R.DESC_USER_DATA);
  return b;
}

/** A descriptor as read back after completion. */
export interface JobResult {
  status: number;
  errorOffset: number;
  startNs: bigint;
  endNs: bigint;
  /** The u64 at 0x38, written as 0. */
  tail: bigint;
  userData: bigint;
  /** The driver half (0x00..0x1f), to check the device left it alone. */
  driverHalf: Buffer;
}

export function decodeResult(b: Buffer): JobResult {
  return {
    status: b.readUInt32LE(R.DESC_STATUS),
    errorOffset: b.readUInt32LE(R.DESC_ERROR_OFFSET),
    startNs: b.readBigUInt64LE(R.DESC_START_NS),
    endNs: b.readBigUInt64LE(R.DESC_END_NS),
    tail: b.readBigUInt64LE(R.DESC_END_NS + 8),
    userData: b.readBigUInt64LE(R.DESC_USER_DATA),
    driverHalf: Buffer.from(b.subarray(0, R.DESC_RESULT)),
  };
}

/** Names of job status codes, for messages. */
export function jobStatusName(code: number): string {
  const names: Record<number, string> = {
    [R.JOB_OK]: 'OK',
    [R.JOB_INVALID_DESCRIPTOR]: 'INVALID_DESCRIPTOR',
    [R.JOB_INVALID_CONTEXT]: 'INVALID_CONTEXT',
    [R.JOB_CONTEXT_STOPPED]: 'CONTEXT_STOPPED',
    [R.JOB_INVALID_COMMAND]: 'INVALID_COMMAND',
    [R.JOB_MMU_FAULT]: 'MMU_FAULT',
    [R.JOB_INJECTED_ERROR]: 'INJECTED_ERROR',
  };
  return names[code] ?? `status ${code}`;
}
