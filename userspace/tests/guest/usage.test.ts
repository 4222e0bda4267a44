/**
 * Usage statistics (Documentation/gpu/drm-usage-stats.rst): each file's
 * fdinfo shows its memory and, per queue, the device time its finished
 * jobs ran (drm-engine-queueN, from the descriptors' START_NS and END_NS);
 * `ossa top` reads them for every client.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { covers } from '../../../ci/lib/coverage.js';
import { CommandStream, Device, drmClients } from '../../src/index.js';
import { WAIT_MS } from './support/ossa.js';

const run = promisify(execFile);
const SIZE = 16 << 20;

describe('usage statistics (fdinfo)', () => {
  test(covers(['SUBMIT', 'COPY'], 'good', "fdinfo: drm-engine-queueN grows with the file's work on that queue only, by no more than the time it took"), async () => {
    using a = Device.open();
    using b = Device.open();
    const queues = Array.from({ length: Number(a.param('numQueues')) }, (_, q) => `queue${q}`);
    const fresh = a.usage();
    expect(fresh.driver).toBe('ossa');
    expect(Object.keys(fresh.engines).sort()).toEqual(queues);
    expect(Object.values(fresh.engines)).toEqual(queues.map(() => 0n));
    using src = a.createBuffer(SIZE);
    using dst = a.createBuffer(SIZE);
    expect(a.usage().memory.total).toBe(fresh.memory.total! + 2 * SIZE);
    for (const [q, name] of queues.entries()) {
      const before = a.usage().engines;
      const t0 = process.hrtime.bigint();
      using f = a.submit({ queue: q, commands: new CommandStream().copy(src.va, dst.va, SIZE), buffers: [src, dst] });
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
      const wall = process.hrtime.bigint() - t0;
      const after = a.usage().engines;
      const grew = (after[name] ?? 0n) - (before[name] ?? 0n);
      expect(grew, `${name} busy time`).toBeGreaterThan(0n);
      // Device time and the guest's clock both follow the host's: a job
      // cannot have run longer than from its submission to its fence.
      expect(grew, `${name} busy ${grew} ns within ${wall} ns`).toBeLessThanOrEqual(wall + 1_000_000n);
      for (const other of queues.filter((n) => n !== name)) expect(after[other], other).toBe(before[other]);
    }
    expect(Object.values(b.usage().engines), "another file's").toEqual(queues.map(() => 0n));
  });

  test('ossa top -J shows each client: its processes, memory and busy share of each queue', async () => {
    using dev = Device.open();
    using buf = dev.createBuffer(SIZE);
    const me = dev.usage().clientId;
    expect(drmClients('ossa').find((c) => c.clientId === me)?.pids.map((p) => p.pid)).toContain(process.pid);
    // Work on queue 0 while top samples: FILLs back to back.
    let busy = true;
    const work = (async () => {
      while (busy) {
        using f = dev.submit({ commands: new CommandStream().fill(buf.va, SIZE, 7), buffers: [buf] });
        await f.settle(WAIT_MS);
      }
    })();
    let out: string;
    try {
      ({ stdout: out } = await run('/bin/ossa', ['top', '-J', '-s', '300', '-n', '3'], { timeout: 60_000 }));
    } finally {
      busy = false;
      await work;
    }
    const samples = out
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            periodMs: number;
            clients: Array<{ clientId: number; pids: Array<{ pid: number }>; memory: { total: number }; engines: Record<string, { busyNs: number; percent: number | null }> }>;
          },
      );
    expect(samples).toHaveLength(3);
    const mine = samples.map((s) => s.clients.find((c) => c.clientId === me));
    for (const c of mine) {
      expect(c?.pids.map((p) => p.pid)).toContain(process.pid);
      expect(c?.memory.total).toBeGreaterThanOrEqual(SIZE);
    }
    const shares = mine.map((c) => c?.engines.queue0?.percent ?? 0);
    expect(Math.max(...shares), `queue0 shares ${shares.join(', ')}`).toBeGreaterThan(0);
    expect(Math.max(...shares)).toBeLessThanOrEqual(100);
  });
});
