/**
 * Seeded random robustness test: random register writes over all of BAR0
 * (queue registers, RESET and injection registers included), random and
 * malformed descriptors, command streams, page tables and context tables,
 * doorbells, clock steps, bus-master toggles, config-space writes (through
 * MMCONFIG), MSI-X table writes, FLRs in the middle of jobs and qom-set of
 * the injection knobs. Register reads are checked against what the
 * datasheet allows; QEMU must stay alive and responsive, and a freshly
 * reset device must still run a good job.
 *
 * Each run uses the fixed seeds (regression cases) and one seed of its own,
 * new every run and printed in the test's name; OSSA_FUZZ_SEED sets that
 * one, to repeat a run. OSSA_FUZZ_OPS sets the operations per seed
 * (default 100000). A seed repeats the same operations; QMP's qom-set runs
 * beside qtest, so where it falls among them can vary.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Ossa } from './device.js';
import { buildArena, checkRead, LISTED_OFFSETS, randomOp } from './fuzz.js';
import { useOssa } from './harness.js';
import { enableMmconfig } from './pci.js';
import { Prng, seedFromEnv } from '../../userspace/src/prng.js';
import { R } from './regs.js';
import { readManifest } from '../../ci/lib/manifest.js';

/** The AddressSanitizer build of QEMU, when the build made one (npm test does). */
const ASAN_QEMU = process.env.OSSA_QTEST_QEMU ? undefined : (await readManifest()).qemuAsan;

/** Seeds run every time: the first seed of this test, and seeds that once found a defect. */
const FIXED_SEEDS = [0x05a5_f22e];
/** This run's own seed. */
const SEED = seedFromEnv('OSSA_FUZZ_SEED', randomBytes(4).readUInt32LE(0));
const OPS = (() => {
  const v = Number(process.env.OSSA_FUZZ_OPS ?? '');
  return Number.isInteger(v) && v > 0 ? v : 100_000;
})();
/** Operations between health checks (each starting from a soft reset). */
const EPOCH = 5000;
/** Operations issued together (pipelined). */
const BATCH = 250;

/** A soft-reset device runs a known job correctly. */
async function goodJob(d: Ossa): Promise<void> {
  const ctx = await d.context(1);
  const src = await ctx.alloc(16);
  const out = await ctx.alloc(16);
  await ctx.write(src, Buffer.from('123456789'));
  const r = await d.run(ctx, [cmd.crc32c(src, 9, out), cmd.fence(out + 8n, 0x600dn)], { userData: 5n });
  expect(r.status, 'a good job on a freshly reset device').toBe(R.JOB_OK);
  expect(await ctx.readU32(out)).toBe(0xe3069283);
  expect(await ctx.readU64(out + 8n)).toBe(0x600dn);
}

describe('random robustness', () => {
  const dev = useOssa({
    deviceOptions: 'fault-injection=on',
    freshEachTest: false,
    ...(ASAN_QEMU ? { qemu: ASAN_QEMU } : {}),
  });

  const seeds = [...FIXED_SEEDS.map((seed) => ({ seed, kind: 'fixed' })), { seed: SEED, kind: 'this run\'s' }];
  test.each(seeds)(`$kind seed: random operations (OSSA_FUZZ_SEED=$seed, OSSA_FUZZ_OPS=${OPS}, ASan ${ASAN_QEMU ? 'on' : 'off'})`, { timeout: 600_000 }, async ({ seed }) => {
    const d = dev();
    const rng = new Prng(seed);
    await enableMmconfig(d.qt);
    const t0 = Date.now();
    let done = 0;
    let epochs = 0;
    let faults = 0;
    const statuses: number[] = [];
    while (done < OPS) {
      await d.pci.enableMemoryAndMaster();
      await d.fresh();
      await goodJob(d);
      const arena = await buildArena(d, rng);
      const n = Math.min(EPOCH, OPS - done);
      for (let i = 0; i < n; i += BATCH) {
        const batch: Array<Promise<unknown>> = [];
        for (let j = 0; j < Math.min(BATCH, n - i); j += 1) batch.push(randomOp(d, rng, arena));
        // settle the whole batch before failing, so no rejection is left unhandled
        const results = await Promise.allSettled(batch);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
      done += n;
      epochs += 1;
      // what the jobs came to (descriptors written back), for the summary
      for (const q of arena.queues) {
        const ring = await d.qt.read(q.ring, q.entries * R.DESC_SIZE);
        for (let i = 0; i < q.entries; i += 1) {
          const st = ring.readUInt32LE(i * R.DESC_SIZE + R.DESC_STATUS);
          if (st <= R.JOB_INJECTED_ERROR) statuses[st] = (statuses[st] ?? 0) + 1;
        }
      }
      // a message or DMA may have reached the function's COMMAND register
      await d.pci.enableMemoryAndMaster();
      faults += await d.read(R.REG_FAULT_COUNT);
      // alive and responsive, every register within what the datasheet allows
      expect(d.qt.alive, `QEMU alive after ${done} ops`).toBe(true);
      expect(await d.read(R.REG_ID)).toBe(R.ID_MAGIC);
      for (const off of LISTED_OFFSETS) checkRead(off, await d.read(off), true);
    }
    await d.pci.enableMemoryAndMaster();
    await d.fresh();
    await goodJob(d);
    console.log(
      `ossa random test: seed ${seed} (0x${seed.toString(16)}), ${done} operations in ${epochs} epochs, ${Date.now() - t0} ms, ` +
        `AddressSanitizer ${ASAN_QEMU ? 'on' : 'off'}; ` +
        `job statuses left in the rings (OK..INJECTED_ERROR): [${Array.from({ length: 7 }, (_, i) => statuses[i] ?? 0).join(', ')}], ` +
        `MMU faults: ${faults}`,
    );
  });
});
