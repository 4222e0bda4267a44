/**
 * Tier 2, ossa: each device command through the driver: results against
 * the reference, malformed commands refused by the device (EINVAL), and
 * accesses outside the file's buffers faulting (EFAULT, context banned).
 */
import { describe, expect, test } from 'vitest';
import { covers, type Row } from '../../../../ci/lib/coverage.js';
import { encodeCommand, OPCODES } from '../../../src/commands.js';
import { CommandStream, Device } from '../../../src/index.js';
import { Prng } from '../../../src/prng.js';
import { bytesU32, f32Bits, refCrc32c, refFill, refFmaF32 } from '../../../src/reference.js';
import { errnoOf, WAIT_MS } from '../support/ossa.js';

const rng = new Prng(0xc0ffee);

async function runOk(dev: Device, commands: CommandStream | Buffer, buffers: Parameters<Device['submit']>[0]['buffers'], queue = 0): Promise<void> {
  using f = dev.submit({ queue, commands, buffers });
  expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
}

describe('commands: results', () => {
  test(covers(['NOP', 'SUBMIT'], 'good', 'a stream of NOPs only, the largest allowed (DRM_OSSA_PARAM_MAX_CMD_SIZE)'), async () => {
    using dev = Device.open();
    // A zeroed stream is NOPs: opcode 0, reserved word 0.
    using bo = dev.createBuffer(4096);
    await runOk(dev, Buffer.alloc(Number(dev.param('maxCmdSize'))), [bo]);
  });

  test(covers('COPY', 'good', 'unaligned, page-crossing and 0-byte copies'), async () => {
    using dev = Device.open();
    using src = dev.createBuffer(3 << 16);
    using dst = dev.createBuffer(3 << 16);
    const data = rng.bytes(3 << 16);
    src.map().set(data);
    await runOk(dev, new CommandStream().copy(src.va + 3n, dst.va + 4091n, 70_001).copy(src.va, dst.va, 0), [src, dst]);
    expect(Buffer.from(dst.map()).subarray(4091, 4091 + 70_001).equals(data.subarray(3, 3 + 70_001))).toBe(true);
  });

  test(covers('FILL', 'good', 'a pattern over an offset range, nothing outside it'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 16);
    await runOk(dev, new CommandStream().fill(bo.va + 8n, 40_000, 0xa1b2c3d4), [bo]);
    const v = Buffer.from(bo.map());
    expect(v.subarray(8, 40_008).equals(refFill(0xa1b2c3d4, 40_000))).toBe(true);
    expect(v.readUInt32LE(4)).toBe(0);
    expect(v.readUInt32LE(40_008)).toBe(0);
  });

  test(covers('CRC32C', 'good', 'matches the reference, with a seed'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 16);
    const data = rng.bytes(50_001);
    bo.map().set(data);
    await runOk(dev, new CommandStream().crc32c(bo.va, 50_001, bo.va + 60_000n, 0x1234), [bo]);
    expect(Buffer.from(bo.map()).readUInt32LE(60_000)).toBe(refCrc32c(data, 0x1234));
  });

  test(covers('CRC32C', 'good', 'the source needs no alignment: odd addresses and sizes, across a page boundary'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 16);
    const data = rng.bytes(8195);
    bo.map().set(data, 4093);
    await runOk(dev, new CommandStream().crc32c(bo.va + 4093n, 8195, bo.va + 20_000n), [bo]);
    expect(Buffer.from(bo.map()).readUInt32LE(20_000)).toBe(refCrc32c(data));
  });

  test(covers('FMA_F32', 'good', 'matches the reference, including NaN, infinities and subnormals, in place'), async () => {
    using dev = Device.open();
    const n = 4096;
    using bo = dev.createBuffer(n * 12);
    const special = [0x7f800000, 0xff800000, 0x7fc00001, 0x00000001, 0x80000001, 0x7f7fffff, 0, 0x80000000];
    const words = bytesU32(rng.bytes(n * 12));
    special.forEach((v, i) => {
      words[i] = v;
      words[n + ((i * 3) % special.length)] = v;
    });
    words[2 * n] = f32Bits(1.5);
    bo.map().set(Buffer.from(words.buffer, words.byteOffset, n * 12));
    const a = words.slice(0, n);
    const b = words.slice(n, 2 * n);
    const c = words.slice(2 * n, 3 * n);
    // d is c: in place
    await runOk(dev, new CommandStream().fmaF32(n, bo.va, bo.va + BigInt(n * 4), bo.va + BigInt(n * 8), bo.va + BigInt(n * 8)), [bo]);
    const got = bytesU32(Buffer.from(bo.map()).subarray(n * 8, n * 12));
    expect(Array.from(got)).toEqual(Array.from(refFmaF32(a, b, c)));
  });

  test(covers(['FENCE', 'TIMESTAMP'], 'good', 'a fence value after earlier commands; timestamps in order'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 20);
    await runOk(
      dev,
      new CommandStream().timestamp(bo.va).fill(bo.va + 64n, (1 << 20) - 64, 1).fence(bo.va + 8n, 42n, { irq: true }).timestamp(bo.va + 16n),
      [bo],
      1,
    );
    const v = Buffer.from(bo.map());
    expect(v.readBigUInt64LE(8)).toBe(42n);
    expect(v.readBigUInt64LE(16)).toBeGreaterThanOrEqual(v.readBigUInt64LE(0));
  });
});

/** Raw command bytes with chosen fields, at the opcode's own size. */
function rawCmd(opcode: number, arg: number, ...fields: bigint[]): Buffer {
  const size = Object.values(OPCODES).find((o) => o.opcode === opcode)?.size;
  return encodeCommand(opcode, arg, fields, size);
}

describe('commands: malformed commands fail the job with EINVAL', () => {
  const cases: Array<[Row, string, (va: bigint) => Buffer]> = [
    ['NOP', 'reserved word set', () => rawCmd(0, 1)],
    ['COPY', 'overlapping ranges', (va) => rawCmd(1, 0, va, va + 8n, 64n)],
    ['COPY', 'size above 1 GiB', (va) => rawCmd(1, 0, va, va + 4096n, (1n << 30n) + 1n)],
    ['COPY', 'reserved word set', (va) => rawCmd(1, 5, va, va + 64n, 8n)],
    ['FILL', 'unaligned destination', (va) => rawCmd(2, 0, va + 2n, 8n)],
    ['FILL', 'size not a multiple of 4', (va) => rawCmd(2, 0, va, 6n)],
    ['CRC32C', 'unaligned result address', (va) => rawCmd(3, 0, va, 8n, va + 1n)],
    ['CRC32C', 'size above 1 GiB', (va) => rawCmd(3, 0, va, (1n << 30n) + 1n, va)],
    ['FMA_F32', 'count above 2^24', (va) => rawCmd(4, (1 << 24) + 1, va, va, va, va)],
    ['FMA_F32', 'unaligned array', (va) => rawCmd(4, 1, va + 1n, va, va, va)],
    ['FENCE', 'unknown flag', (va) => rawCmd(5, 2, va, 1n)],
    ['FENCE', 'unaligned address', (va) => rawCmd(5, 0, va + 4n, 1n)],
    ['TIMESTAMP', 'reserved word set', (va) => rawCmd(6, 1, va)],
    ['TIMESTAMP', 'unaligned address', (va) => rawCmd(6, 0, va + 4n)],
  ];
  test.each(cases.map(([row, what, make]) => [covers(row, 'bad-input', `${row}: ${what}`), make] as const))('%s', async (_name, make) => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 16);
    using f = dev.submit({ commands: make(bo.va), buffers: [bo] });
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'error', errno: 22 });
    // A refused command is not a fault: the context still works.
    using g = dev.submit({ commands: new CommandStream().nop(), buffers: [bo] });
    expect(await g.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  });

  // No row: SUBMIT accepts the stream, and the bad input is no one command's.
  test('an unknown opcode, and a command cut off by the end of the stream', async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    for (const cmd of [rawCmd(0x7f, 0), Buffer.concat([rawCmd(1, 0, bo.va, bo.va + 64n, 8n)]).subarray(0, 16)]) {
      using f = dev.submit({ commands: cmd, buffers: [bo] });
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'error', errno: 22 });
    }
  });
});

describe('commands: faults', () => {
  /** The middle of the file's VA range (GET_PARAM): in range for the device, never given to the test's one small BO. */
  const outside = (dev: Device, bo: { va: bigint; size: number }): bigint => {
    const va = (dev.param('vaStart') + dev.param('vaSize') / 2n) & ~0xfffn;
    expect(va >= bo.va + BigInt(bo.size) + 4096n || va + 4096n <= bo.va).toBe(true);
    return va;
  };
  const cases: Array<[Row, (va: bigint, out: bigint) => CommandStream]> = [
    ['COPY', (va, out) => new CommandStream().copy(out, va, 64)],
    ['FILL', (_va, out) => new CommandStream().fill(out, 64, 1)],
    ['CRC32C', (va, out) => new CommandStream().crc32c(va, 64, out)],
    ['FMA_F32', (va, out) => new CommandStream().fmaF32(4, va, va, out, va)],
    ['FENCE', (_va, out) => new CommandStream().fence(out, 1n)],
    ['TIMESTAMP', (_va, out) => new CommandStream().timestamp(out)],
  ];
  test.each(cases.map(([row, make]) => [covers([row, 'SUBMIT'], 'fault', `${row} outside the file's buffers: EFAULT, context banned, others unaffected`), make] as const))(
    '%s',
    async (_name, make) => {
      using dev = Device.open();
      using bo = dev.createBuffer(4096);
      using f = dev.submit({ commands: make(bo.va, outside(dev, bo)), buffers: [bo] });
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
      expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo] }))).toBe('ECANCELED');
      using other = Device.open();
      using obo = other.createBuffer(4096);
      await runOk(other, new CommandStream().fill(obo.va, 64, 2), [obo]);
    },
  );

  test(covers(['COPY', 'BO_CREATE'], 'fault', 'the guard page after a buffer faults; a device-read-only buffer cannot be written'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using f = dev.submit({ commands: new CommandStream().copy(bo.va, bo.va + 4095n, 2), buffers: [bo] });
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
    using dev2 = Device.open();
    using ro = dev2.createBuffer(4096, { deviceReadOnly: true });
    using rw = dev2.createBuffer(4096);
    using g = dev2.submit({ commands: new CommandStream().copy(rw.va, ro.va, 8), buffers: [{ buffer: ro, access: 'read' }, rw] });
    expect(await g.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
  });
});
