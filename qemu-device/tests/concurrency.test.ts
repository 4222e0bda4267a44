/** Datasheet sections 1, 5 and 11: two queues run concurrently, alternating slices. */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Context } from './device.js';
import { useOssa } from './harness.js';
import { PERM_R, PERM_W } from './memory.js';
import { Prng } from '../../userspace/src/prng.js';
import { refCrc32c } from '../../userspace/src/reference.js';
import { R } from './regs.js';

const MIB = 1024 * 1024;

async function bigCopy(ctx: Context, bytes: number): Promise<Buffer> {
  const src = await ctx.allocAliased(bytes, PERM_R);
  const dst = await ctx.allocAliased(bytes, PERM_W);
  return cmd.copy(src.va, dst.va, bytes);
}

describe('two queues', () => {
  const dev = useOssa();

  test('jobs on both queues run concurrently: their device-time intervals overlap', async () => {
    const d = dev();
    const a = await d.context(1);
    const b = await d.context(2);
    const q0 = await d.queue(0);
    const q1 = await d.queue(1);
    const ja = await a.job([await bigCopy(a, 4 * MIB)]);
    const jb = await b.job([await bigCopy(b, 4 * MIB)]);
    await d.write(R.REG_INJECT_DELAY_US, 100);
    await q0.submit(ja);
    await q1.submit(jb);
    for (let i = 0; i < 100_000; i += 1) {
      if ((await q0.head()) === 1 && (await q1.head()) === 1) break;
      await d.stepClockIfPending();
    }
    const r0 = await q0.result(0);
    const r1 = await q1.result(0);
    expect([r0.status, r1.status]).toEqual([R.JOB_OK, R.JOB_OK]);
    expect(r1.startNs, 'queue 1 started before queue 0 ended').toBeLessThan(r0.endNs);
    expect(r0.startNs, 'queue 0 started before queue 1 ended').toBeLessThan(r1.endNs);
  });

  test('a long job on one queue does not hold back a short one on the other', async () => {
    const d = dev();
    const a = await d.context(1);
    const b = await d.context(2);
    const q0 = await d.queue(0);
    const q1 = await d.queue(1);
    const long = await a.job([await bigCopy(a, 32 * MIB)]);
    const short = await b.job([cmd.nop()]);
    await d.write(R.REG_INJECT_DELAY_US, 50);
    await q0.submit(long);
    await q1.submit(short);
    await q1.waitHead(1, { stepClock: true, tries: 100_000 });
    expect(await q0.head(), 'the long job is still running').toBe(0);
    await q0.waitHead(1, { stepClock: true, tries: 1_000_000 });
    const rl = await q0.result(0);
    const rs = await q1.result(0);
    expect(rs.endNs).toBeLessThan(rl.endNs);
  });

  test('many jobs in many contexts on both queues all complete with the right results', async () => {
    const d = dev();
    const rng = new Prng(77);
    const ctxs: Context[] = [];
    for (let i = 0; i < 8; i += 1) ctxs.push(await d.context(i * 8 + 1));
    const queues = [await d.queue(0, 5), await d.queue(1, 5)];
    const checks: Array<{ ctx: Context; out: bigint; want: number; q: number; index: number }> = [];
    for (let round = 0; round < 2; round += 1) {
      const perQueue: Array<Array<Awaited<ReturnType<Context['job']>>>> = [[], []];
      const pending: Array<{ ctx: Context; out: bigint; want: number; q: number }> = [];
      for (let j = 0; j < 32; j += 1) {
        const ctx = rng.pick(ctxs);
        const q = j % 2;
        const data = rng.bytes(rng.range(1, 9000));
        const src = await ctx.alloc(data.length);
        await ctx.write(src, data);
        const copy = await ctx.alloc(data.length);
        const out = await ctx.alloc(8);
        const seed = rng.u32();
        perQueue[q]?.push(await ctx.job([cmd.copy(src, copy, data.length), cmd.crc32c(copy, data.length, out, seed)], { userData: BigInt(j) }));
        pending.push({ ctx, out, want: refCrc32c(data, seed), q });
      }
      const indices = await Promise.all([0, 1].map((q) => queues[q]?.submit(...(perQueue[q] ?? [])) ?? Promise.resolve([])));
      for (const q of [0, 1]) await queues[q]?.waitHead((round + 1) * 16);
      const counters = [0, 0];
      for (const p of pending) {
        const index = indices[p.q]?.[counters[p.q] ?? 0] ?? -1;
        counters[p.q] = (counters[p.q] ?? 0) + 1;
        checks.push({ ...p, index });
      }
    }
    for (const c of checks) {
      const r = await queues[c.q]?.result(c.index);
      expect(r?.status).toBe(R.JOB_OK);
      expect(await c.ctx.readU32(c.out)).toBe(c.want);
    }
    expect(checks.length).toBe(64);
  });
});
