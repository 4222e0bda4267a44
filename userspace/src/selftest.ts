/**
 * Checks of the device through the library, each against the TypeScript
 * reference: what `ossa selftest` and `ossa copy` run.
 */
import { randomFillSync } from 'node:crypto';
import { CommandStream } from './commands.js';
import type { Device } from './device.js';
import { Prng } from './prng.js';
import { bytesU32, refCrc32c, refFill, refFmaF32 } from './reference.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

const WAIT_MS = 60_000;

async function timed(name: string, fn: () => Promise<string>): Promise<CheckResult> {
  const start = performance.now();
  try {
    const detail = await fn();
    return { name, ok: true, detail, ms: performance.now() - start };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message : String(err), ms: performance.now() - start };
  }
}

async function settle(fence: { settle(ms: number): Promise<{ state: string; errno?: number }> }): Promise<void> {
  const s = await fence.settle(WAIT_MS);
  if (s.state !== 'signaled') throw new Error(`job ${s.state}${s.errno ? ` (errno ${s.errno})` : ''}`);
}

export interface CopyResult {
  bytes: number;
  /** Submit to completion, ms. */
  ms: number;
  verified: boolean;
}

/** COPY of `size` random bytes by the device, verified byte for byte. */
export async function deviceCopy(dev: Device, size: number, queue = 0): Promise<CopyResult> {
  using src = dev.createBuffer(size);
  using dst = dev.createBuffer(size);
  const s = src.map().subarray(0, size);
  randomFillSync(s);
  const start = performance.now();
  using fence = dev.submit({
    queue,
    commands: new CommandStream().copy(src.va, dst.va, size),
    buffers: [{ buffer: src, access: 'read' }, { buffer: dst, access: 'write' }],
  });
  await settle(fence);
  const ms = performance.now() - start;
  const d = dst.map().subarray(0, size);
  return { bytes: size, ms, verified: Buffer.compare(Buffer.from(s.buffer, s.byteOffset, size), Buffer.from(d.buffer, d.byteOffset, size)) === 0 };
}

/** Every command once against the reference. */
export async function selftest(dev: Device, options: { seed?: number; copySize?: number } = {}): Promise<CheckResult[]> {
  const rng = new Prng(options.seed ?? 0x055a);
  const results: CheckResult[] = [];

  results.push(
    await timed('copy', async () => {
      const r = await deviceCopy(dev, options.copySize ?? 1 << 20);
      if (!r.verified) throw new Error(`${r.bytes} bytes copied, contents differ`);
      return `${r.bytes} bytes in ${r.ms.toFixed(1)} ms`;
    }),
  );

  results.push(
    await timed('fill', async () => {
      using bo = dev.createBuffer(1 << 16);
      const value = rng.u32();
      using fence = dev.submit({ commands: new CommandStream().fill(bo.va + 4n, 65_000, value), buffers: [bo] });
      await settle(fence);
      const got = Buffer.from(bo.map());
      const want = refFill(value, 65_000);
      if (!got.subarray(4, 4 + 65_000).equals(want) || got.readUInt32LE(0) !== 0) throw new Error('fill differs');
      return `65000 bytes of 0x${value.toString(16)}`;
    }),
  );

  results.push(
    await timed('crc32c', async () => {
      const size = (1 << 20) + 13;
      using bo = dev.createBuffer(size + 64);
      const data = rng.bytes(size);
      bo.map().set(data);
      const out = bo.va + BigInt(size + 3) - (BigInt(size + 3) % 4n);
      const half = 1 << 19;
      using fence = dev.submit({
        commands: new CommandStream()
          .crc32c(bo.va, size, out)
          .crc32c(bo.va, half, out + 4n)
          .crc32c(bo.va + BigInt(half), size - half, out + 8n, refCrc32c(data.subarray(0, half))),
        buffers: [bo],
      });
      await settle(fence);
      const view = Buffer.from(bo.map());
      const at = Number(out - bo.va);
      const want = refCrc32c(data);
      const got = [view.readUInt32LE(at), view.readUInt32LE(at + 8)];
      if (got[0] !== want || got[1] !== want) throw new Error(`crc 0x${got[0]?.toString(16)} / chained 0x${got[1]?.toString(16)}, want 0x${want.toString(16)}`);
      return `${size} bytes: 0x${want.toString(16)} (also chained)`;
    }),
  );

  results.push(
    await timed('fma_f32', async () => {
      const count = 1 << 16;
      using bo = dev.createBuffer(count * 16);
      const view = bo.map();
      const abc = rng.bytes(count * 12);
      view.set(abc);
      const a = bytesU32(abc.subarray(0, count * 4));
      const b = bytesU32(abc.subarray(count * 4, count * 8));
      const c = bytesU32(abc.subarray(count * 8, count * 12));
      const base = bo.va;
      using fence = dev.submit({
        commands: new CommandStream().fmaF32(count, base, base + BigInt(count * 4), base + BigInt(count * 8), base + BigInt(count * 12)),
        buffers: [bo],
      });
      await settle(fence);
      const want = refFmaF32(a, b, c);
      const got = bytesU32(Buffer.from(bo.map()).subarray(count * 12, count * 16));
      for (let i = 0; i < count; i++) {
        if (got[i] !== want[i]) throw new Error(`element ${i}: 0x${got[i]?.toString(16)}, want 0x${want[i]?.toString(16)}`);
      }
      return `${count} random binary32 triples`;
    }),
  );

  results.push(
    await timed('fence+timestamp', async () => {
      using bo = dev.createBuffer(4096);
      using fence = dev.submit({
        queue: 1,
        commands: new CommandStream().timestamp(bo.va).nop().fence(bo.va + 8n, 0x1234_5678_9abc_def0n, { irq: true }).timestamp(bo.va + 16n),
        buffers: [bo],
      });
      await settle(fence);
      const v = Buffer.from(bo.map());
      const t0 = v.readBigUInt64LE(0);
      const t1 = v.readBigUInt64LE(16);
      if (v.readBigUInt64LE(8) !== 0x1234_5678_9abc_def0n) throw new Error('fence value not written');
      if (t1 < t0 || t0 === 0n) throw new Error(`timestamps ${t0}, ${t1}`);
      return `timestamps ${t0} .. ${t1} ns`;
    }),
  );

  return results;
}
