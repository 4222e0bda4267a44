/**
 * Datasheet sections 1 and 11: jobs run in slices of at most 1 MiB of data
 * or 64 commands, so that no job, however large, stalls the machine.
 *
 * With INJECT_DELAY_US = D every slice is followed by D of device time, so
 * a job of n slices spans at least (n - 1) D between START_NS and END_NS.
 * Without delay, register reads are answered while a large job runs.
 */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Context, Ossa } from './device.js';
import { useOssa } from './harness.js';
import { PERM_R, PERM_W } from './memory.js';
import { R } from './regs.js';

const MIB = 1024 * 1024;
const DELAY_US = 10;

type Maker = (d: Ossa, ctx: Context, bytes: number) => Promise<Buffer>;

/** Jobs moving about `bytes` of data with each data command, over aliased pages. */
const dataCommands: Array<[string, Maker]> = [
  [
    'COPY',
    async (_d, ctx, bytes) => {
      const src = await ctx.allocAliased(bytes, PERM_R);
      const dst = await ctx.allocAliased(bytes, PERM_W);
      return cmd.copy(src.va, dst.va, bytes);
    },
  ],
  [
    'FILL',
    async (_d, ctx, bytes) => {
      const dst = await ctx.allocAliased(bytes, PERM_W);
      return cmd.fill(dst.va, bytes, 0x5a5a_5a5a);
    },
  ],
  [
    'CRC32C',
    async (_d, ctx, bytes) => {
      const src = await ctx.allocAliased(bytes, PERM_R);
      const out = await ctx.alloc(8);
      return cmd.crc32c(src.va, bytes, out);
    },
  ],
  [
    'FMA_F32',
    async (_d, ctx, bytes) => {
      // 12 bytes read and 4 written per element: count them as 12 (the fewest)
      const count = Math.min(Math.ceil(bytes / 12), R.FMA_COUNT_MAX);
      const a = await ctx.allocAliased(4 * count, PERM_R);
      const dst = await ctx.allocAliased(4 * count, PERM_W);
      return cmd.fmaF32(count, a.va, a.va, a.va, dst.va);
    },
  ],
];

describe('11. slices', () => {
  const dev = useOssa();

  test.each(dataCommands)('%s of 4 MiB runs in slices of at most 1 MiB (injected delay between them)', async (_name, make) => {
    const d = dev();
    const ctx = await d.context(1);
    const c = await make(d, ctx, 4 * MIB);
    await d.write(R.REG_INJECT_DELAY_US, DELAY_US);
    const r = await d.run(ctx, [c], {}, 0, { stepClock: true, tries: 100_000 });
    expect(r.status).toBe(R.JOB_OK);
    // at least 4 slices: at least 3 delays inside the job
    expect(r.endNs - r.startNs).toBeGreaterThanOrEqual(3n * BigInt(DELAY_US) * 1000n);
  });

  test('a job of 200 NOPs runs in slices of at most 64 commands', async () => {
    const d = dev();
    const ctx = await d.context(1);
    await d.write(R.REG_INJECT_DELAY_US, DELAY_US);
    const r = await d.run(ctx, Array.from({ length: 200 }, () => cmd.nop()), {}, 0, { stepClock: true });
    expect(r.status).toBe(R.JOB_OK);
    expect(r.endNs - r.startNs).toBeGreaterThanOrEqual(3n * BigInt(DELAY_US) * 1000n);
  });

  test('slices count commands across jobs: 40 jobs of 8 NOPs are spread over several slices', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const queue = await d.queue(0, 6);
    await d.write(R.REG_INJECT_DELAY_US, DELAY_US);
    const jobs = [];
    for (let i = 0; i < 40; i += 1) jobs.push(await ctx.job(Array.from({ length: 8 }, () => cmd.nop())));
    await queue.submit(...jobs);
    await queue.waitHead(40, { stepClock: true, tries: 100_000 });
    const first = await queue.result(0);
    const last = await queue.result(39);
    expect(last.endNs - first.startNs).toBeGreaterThanOrEqual(BigInt(DELAY_US) * 1000n);
  });

  test.each(dataCommands)('%s of 64 MiB runs as 64 slices: registers answer between them, HEAD moves only after the last', { timeout: 120_000 }, async (_name, make) => {
    // Device time stands still under qtest until the test steps it, so the
    // injected delay after each slice holds the job between slices: the
    // machine must answer meanwhile, and the job needs 63 delays to finish.
    const d = dev();
    const ctx = await d.context(2);
    const queue = await d.queue(0);
    const desc = await ctx.job([await make(d, ctx, 64 * MIB)]);
    await d.write(R.REG_INJECT_DELAY_US, DELAY_US);
    await queue.submit(desc);
    for (let i = 0; i < 62; i += 1) {
      await d.qt.clockStep(BigInt(DELAY_US) * 1000n);
      expect(await d.read(R.REG_ID)).toBe(R.ID_MAGIC);
      expect(await queue.head(), `HEAD after ${i + 1} slices`).toBe(0);
    }
    let steps = 62;
    while ((await queue.head()) === 0 && steps < 200) {
      await d.qt.clockStep(BigInt(DELAY_US) * 1000n);
      steps += 1;
    }
    expect(await queue.head()).toBe(1);
    expect((await queue.result(0)).status).toBe(R.JOB_OK);
    expect(steps, 'delays the job waited').toBeGreaterThanOrEqual(63);
  });
});

describe('11. limits', () => {
  test('the limits are as the datasheet says', () => {
    expect(R.NUM_QUEUES).toBe(2);
    expect(R.NUM_CONTEXTS).toBe(64);
    expect([R.Q_SIZE_MIN, R.Q_SIZE_MAX]).toEqual([1, 12]);
    expect(R.CMD_SIZE_MAX).toBe(MIB);
    expect(R.DATA_SIZE_MAX).toBe(1024 * MIB);
    expect(R.FMA_COUNT_MAX).toBe(2 ** 24);
    expect(R.VA_BITS).toBe(39);
  });
});
