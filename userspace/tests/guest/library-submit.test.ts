/**
 * The library's submission path: command streams in the device's command
 * ring, whose stretches come back only when their jobs are done (learnt
 * from the ring's timeline syncobj); pooled syncobjs for Fences; a failed
 * SUBMIT that gives back what it took; one SUBMIT ioctl per job in the
 * hot-loop form.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { CommandStream, Device, type JobSpec, SubmitError } from '../../src/index.js';
import { RING_SIZE } from '../../src/command-ring.js';
import { DRM_IOCTL_OSSA_SUBMIT } from '../../src/uapi.js';
import { inject } from './support/debugfs.js';
import { ioctlRequestsDuring } from './support/ioctl-trace.js';
import { DEBUG_KERNEL, thrownBy, WAIT_MS } from './support/ossa.js';
import { native } from '../../src/native.js';

afterEach(() => inject('inject_delay_us', 0));

/** A stream of `bytes` bytes: NOPs, then a FILL of `value` into 4 bytes at `marker`. */
function longStream(bytes: number, marker: bigint, value: number): CommandStream {
  const s = new CommandStream();
  const fill = 24;
  for (let i = 0; i < (bytes - fill) / 8; i++) s.nop();
  return s.fill(marker, 4, value);
}

describe('command ring', () => {
  test("a job's stretch of the ring is not reused before the job is done, however many jobs pass it", async () => {
    using dev = Device.open();
    using slow = dev.createBuffer(64 << 20);
    using marks = dev.createBuffer(4096);
    // Job 0, on queue 0, first writes 512 MiB, then its marker, which the
    // device reads only after the FILLs. (The test cannot hold the job
    // back for sure; it is still running, as a rule, while the next 40 are
    // submitted: then they wrap around onto its stretch.)
    const big = new CommandStream();
    for (let i = 0; i < 8; i++) big.fill(slow.va, 64 << 20, i);
    const first = dev.submit({ queue: 0, commands: big.fill(marks.va, 4, 1000), buffers: [slow, marks] });
    // Then 40 jobs of 60 KiB streams each on queue 1, more than the ring
    // (1 MiB) holds: while job 0 runs, its stretch holds the ring, and the
    // later ones get buffers of their own.
    const rest = Array.from({ length: 40 }, (_, i) =>
      dev.submit({ queue: 1, commands: longStream(60 << 10, marks.va + BigInt(4 * (i + 1)), 1001 + i), buffers: [marks] }),
    );
    for (const f of rest) expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(await first.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    const m = new Uint32Array(marks.map().buffer, 0, 41);
    expect([...m]).toEqual(Array.from({ length: 41 }, (_, i) => 1000 + i));
    first.close();
    for (const f of rest) f.close();
  });

  test('a thousand jobs through the ring (a quarter of that on the debug kernel), in batches, each with its own result', async () => {
    using dev = Device.open();
    using out = dev.createBuffer(64 << 10);
    const n = DEBUG_KERNEL ? 256 : 1024;
    // Batches of 64, the most one SUBMIT takes.
    for (let base = 0; base < n; base += 64) {
      const fences = dev.submitBatch(
        Array.from({ length: 64 }, (_, k) => ({
          queue: k % 2,
          commands: new CommandStream().nop().fill(out.va + BigInt(4 * (base + k)), 4, base + k),
          buffers: [out],
        })),
      );
      for (const f of fences) {
        expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
        f.close();
      }
    }
    expect([...new Uint32Array(out.map().buffer, 0, n)]).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('fences and the syncobj pool', () => {
  test("a Fence's syncobj goes back to the pool on close, unless it was exported: then no later job reaches it", async () => {
    using dev = Device.open();
    using other = Device.open();
    using buf = dev.createBuffer(4 << 20);
    const f = dev.submit({ commands: new CommandStream().nop(), buffers: [buf] });
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    const fd = f.exportFd();
    f.close();
    // A slow job next: had the exported syncobj been reused, it would now
    // hold this job's pending fence.
    inject('inject_delay_us', 20_000);
    const g = dev.submit({ commands: new CommandStream().fill(buf.va, 4 << 20, 5), buffers: [buf] });
    using shared = other.importSyncobj(fd);
    native().close(fd);
    expect(shared.state()).toEqual({ state: 'signaled' });
    expect(await g.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    // A Fence that was not exported gives its syncobj to the next job.
    const h = g.handle;
    g.close();
    const k = dev.submit({ commands: new CommandStream().nop(), buffers: [buf] });
    expect(k.handle).toBe(h);
    expect(await k.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    k.close();
  });

  test('a SUBMIT that fails gives back its stretches and syncobjs; the next one works', async () => {
    using dev = Device.open();
    using out = dev.createBuffer(4096);
    const good: JobSpec = { commands: new CommandStream().fill(out.va, 4, 9), buffers: [out] };
    // The second job names a queue that does not exist: nothing is queued.
    const bad: JobSpec = { commands: new CommandStream().fill(out.va, 4, 7), buffers: [out], queue: 99 };
    const err = thrownBy(() => dev.submitBatch([good, bad]));
    expect(err).toBeInstanceOf(SubmitError);
    expect((err as SubmitError).statuses).toEqual([-125, -22]);
    const f = dev.submit(good);
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(new Uint32Array(out.map().buffer, 0, 1)[0]).toBe(9);
    f.close();
  });
});

describe('the ring after a failed SUBMIT', () => {
  test('a failed SUBMIT after the ring learnt which jobs are done leaves it whole: the next stream goes into it', async () => {
    using dev = Device.open();
    using marks = dev.createBuffer(4096);
    using done = dev.createSyncobj();
    // Fill the ring to within 4 KiB of its end with 60 KiB streams, all done.
    const stretch = 60 << 10;
    const fit = Math.floor(RING_SIZE / stretch);
    for (let i = 0; i < fit; i++) dev.enqueue({ commands: longStream(stretch, marks.va, i), buffers: [marks], signal: done });
    expect(await done.wait(WAIT_MS)).toBe(true);
    // An 8 KiB stream must wrap: the ring asks which jobs are done (all),
    // and takes it; the batch's second job is refused, and nothing is queued.
    const wrap = longStream(8 << 10, marks.va + 4n, 1);
    const err = thrownBy(() => dev.submitBatch([{ commands: wrap, buffers: [marks] }, { commands: wrap, buffers: [marks], queue: 99 }]));
    expect(err).toBeInstanceOf(SubmitError);
    // The ring is empty again: another 8 KiB stream goes in with one SUBMIT.
    const requests = ioctlRequestsDuring(() => dev.enqueue({ commands: wrap, buffers: [marks], signal: done }));
    expect(await done.wait(WAIT_MS)).toBe(true);
    expect(requests).toEqual([DRM_IOCTL_OSSA_SUBMIT]);
  });
});

describe('the hot loop', () => {
  test('in steady state, Device.enqueue() is one ioctl, DRM_IOCTL_OSSA_SUBMIT', async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using done = dev.createSyncobj();
    const job: JobSpec = { commands: new CommandStream().nop(), buffers: [bo], signal: done };
    for (let i = 0; i < 50; i++) dev.enqueue(job);
    expect(await done.wait(WAIT_MS)).toBe(true);
    const requests = ioctlRequestsDuring(() => {
      for (let i = 0; i < 100; i++) dev.enqueue(job);
    });
    expect(await done.wait(WAIT_MS)).toBe(true);
    expect(requests).toEqual(new Array(100).fill(DRM_IOCTL_OSSA_SUBMIT));
  });
});
