/**
 * Tier 2, ossa: the PCI binding. Unbinding an idle device removes its node
 * and debugfs folder and binding it again gives a working device; a probe
 * without MSI/MSI-X (as on a machine or bus that lacks them) takes one
 * INTx interrupt for every cause, and jobs, completions and MMU faults
 * still work through it. Unbinding while a file is open and jobs run fails
 * every job with ENODEV and wakes every waiter; the file's calls fail with
 * ENODEV until it is closed. A job that a killed process left waiting on
 * a fence of another driver holds the unbind until that fence signals.
 * Removing the device from the running machine (the host's QMP device_del)
 * fails and wakes as unbinding does, and device_add brings back a working
 * device. Every test leaves the device bound with MSI-X.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { CommandStream, Device, type DeviceBuffer, type Fence, isDeviceGone } from '../../../src/index.js';
import { kernelLogSeq, kernelLogSince } from '../support/kernel-log.js';
import { debugfsDir, driverStats, inject, until } from '../support/debugfs.js';
import { controlPort, hostRequest } from '../support/host.js';
import { errnoOf, errnoOfAsync, ossaNode, syncobjWait, UNMAPPED_VA, WAIT_MS } from '../support/ossa.js';
import { allowMsi, bind, msiAllowed, ossaPciAddress, unbind } from '../support/pci.js';

const address = ossaPciAddress();
/** Whether the kernel lets devices use MSI at all (not booted with pci=nomsi). */
const MSI = !/(^|\s)pci=nomsi(\s|$)/.test(readFileSync('/proc/cmdline', 'utf8'));
/** The vectors a probe with MSI allowed takes: the three MSI-X vectors, or INTx under pci=nomsi. */
const MSI_VECTORS = MSI ? 3 : 1;
/** The interrupt vectors the driver's probe reported since `seq` ("N interrupt vector(s)"). */
function vectorsSince(seq: number): number[] {
  return kernelLogSince(seq)
    .map((r) => /\bossa interface \d+\.\d+, (\d+) interrupt vector/.exec(r.text)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
}

const ENODEV = 19;
/** Leaves a killed process's job waiting on a vgem fence (tools/orphan-job.c). */
const ORPHAN_JOB = '/ossa/tools/orphan-job';
const MIB = 1 << 20;
/** Without the project's guest runner there is no host to ask for a hot-unplug. */
const NO_HOST = controlPort() ? undefined : 'no host control port: the guest runs outside ci/lib/vm.ts';

/** Jobs on each queue's ring, from debugfs: tail - head of "queue N: head H tail T". */
function ringJobs(): number[] {
  return [...readFileSync(`${debugfsDir()}/queues`, 'utf8').matchAll(/^queue \d+: head (\d+) tail (\d+)/gm)].map(
    ([, head, tail]) => Number(tail) - Number(head),
  );
}

/** A FILL on the queue, checked through a mapping of the buffer. */
async function fillWorks(dev: Device, queue: number, value: number): Promise<void> {
  using bo = dev.createBuffer(1 << 16);
  using f = dev.submit({ queue, commands: new CommandStream().fill(bo.va, 1 << 16, value), buffers: [bo] });
  expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  const words = new Uint32Array(bo.map().buffer, 0, (1 << 16) / 4);
  expect(words.every((w) => w === value)).toBe(true);
}

/**
 * Waits begun on the thread pool just before the device goes: the jobs'
 * fences, BO_WAIT on each buffer, SYNCOBJ_WAIT on all the fences. A wait
 * that reaches the kernel only after the device is gone fails with ENODEV
 * at once; either way it returns.
 */
function beginWaits(dev: Device, fences: readonly Fence[], buffers: readonly DeviceBuffer[]) {
  return {
    fences: Promise.all(fences.map((f) => f.settle(WAIT_MS))),
    boWaits: Promise.all(buffers.map((bo) => bo.wait(WAIT_MS).catch((e: unknown) => (isDeviceGone(e) ? 'ENODEV' : Promise.reject(e))))),
    syncobjWait: syncobjWait(dev, fences.map((f) => f.handle), WAIT_MS, 1 /* WAIT_ALL */),
  };
}

/** The BO_WAITs and the SYNCOBJ_WAIT of beginWaits() returned as they should once the device is gone. */
async function expectWaitsReturned(waits: ReturnType<typeof beginWaits>): Promise<void> {
  const boWaits = await waits.boWaits;
  const syncWait = await waits.syncobjWait;
  console.log(`BO_WAIT: ${boWaits.join(', ')}, SYNCOBJ_WAIT: ${syncWait}`);
  for (const st of boWaits) expect(['error', 'ENODEV'], 'BO_WAIT: the last writer failed, or ENODEV').toContain(st);
  expect(['ok', 'ENODEV'], 'SYNCOBJ_WAIT: signalled, or ENODEV').toContain(syncWait);
}

/**
 * Has the host plug the device back (device_add) and waits for the
 * driver's probe; returns the interrupt vectors it took.
 */
async function replug(msix = true): Promise<number[]> {
  const seq = kernelLogSeq();
  await hostRequest(msix ? { op: 'replug' } : { op: 'replug', msix: false });
  expect(await until(() => vectorsSince(seq).length > 0, WAIT_MS), 'a probe after device_add').toBe(true);
  return vectorsSince(seq);
}

/**
 * Every interrupt cause reaches the driver: a job on each queue completes,
 * an MMU fault bans its context, another file still works.
 */
async function interruptsWork(value: number): Promise<void> {
  using dev = Device.open();
  const queues = Number(dev.param('numQueues'));
  for (let q = 0; q < queues; q++) await fillWorks(dev, q, value + q);
  using bo = dev.createBuffer(4096);
  using fault = dev.submit({ commands: new CommandStream().fill(UNMAPPED_VA, 4096, 1), buffers: [bo] });
  expect(await fault.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
  expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo] }))).toBe('ECANCELED');
  using other = Device.open();
  await fillWorks(other, 0, 0x55);
}

afterEach(async () => {
  // Whatever a test did, the next one finds the device bound with MSI-X.
  if (!existsSync(`/sys/bus/pci/devices/${address}`)) await replug();
  const bound = existsSync(`/sys/bus/pci/drivers/ossa/${address}`);
  if (bound && msiAllowed(address)) return;
  if (bound) unbind(address);
  allowMsi(address, true);
  const seq = kernelLogSeq();
  bind(address);
  expect(vectorsSince(seq)[0], 'vectors after putting MSI back').toBe(MSI_VECTORS);
});

describe('PCI binding', () => {
  test(covers(['BO_CREATE', 'SUBMIT'], 'lifetime', 'unbinding an idle device removes its node and debugfs folder; bound again, it runs jobs'), async () => {
    const node = ossaNode();
    unbind(address);
    expect(existsSync(node), `${node} after unbind`).toBe(false);
    expect(existsSync(`/sys/kernel/debug/accel/${address}`), 'debugfs folder after unbind').toBe(false);
    expect(errnoOf(() => Device.open())).toBe('ENODEV');
    bind(address);
    using dev = Device.open();
    await fillWorks(dev, 0, 0x1234_5678);
  });

  test(covers(['BO_CREATE', 'SUBMIT', 'GET_PARAM'], 'good', 'without MSI the driver takes one INTx: jobs on every queue complete and an MMU fault bans the context'), async () => {
    unbind(address);
    allowMsi(address, false);
    const seq = kernelLogSeq();
    bind(address);
    expect(vectorsSince(seq), 'vectors of the INTx probe').toEqual([1]);
    await interruptsWork(0xa0);
    unbind(address);
    allowMsi(address, true);
    const again = kernelLogSeq();
    bind(address);
    const [vectors] = vectorsSince(again);
    expect(vectors, 'vectors once MSI is allowed again').toBe(MSI_VECTORS);
  });

  test(covers(['BO_CREATE', 'SUBMIT', 'BO_WAIT', 'SYNCOBJ_WAIT', 'FILL'], 'lifetime', 'unbinding with a file open and jobs on both rings: every job fails with ENODEV, every waiter returns, every call fails with ENODEV, closing the file does not throw; bound again, the device works'), async () => {
    const dev = Device.open();
    const queues = Number(dev.param('numQueues'));
    const fill = (bo: { va: bigint }, value: number): CommandStream => new CommandStream().fill(bo.va, 4096, value);
    // The first job on each queue hangs until the queue is disabled; the
    // two after it wait on the ring. A fourth writes the first buffer of
    // the next queue: it waits in the scheduler for that queue's hung job.
    inject('inject_hang', (1 << queues) - 1);
    const buffers = Array.from({ length: 3 * queues }, () => dev.createBuffer(4096));
    const fences = [];
    for (let q = 0; q < queues; q++) {
      for (let i = 0; i < 3; i++) fences.push(dev.submit({ queue: q, commands: fill(buffers[3 * q + i]!, i), buffers: [buffers[3 * q + i]!] }));
    }
    for (let q = 0; q < queues; q++) {
      const next = buffers[3 * ((q + 1) % queues)]!;
      fences.push(dev.submit({ queue: q, commands: fill(next, 9), buffers: [next] }));
    }
    expect(await until(() => ringJobs().every((n) => n === 3)), `jobs on the rings: ${ringJobs().join(', ')}`).toBe(true);
    const waits = beginWaits(dev, fences, [buffers[0]!]);
    // At once: the hung jobs time out after job_timeout_ms (2 s) on the
    // ring, and the unbind must begin before that.
    const start = Date.now();
    unbind(address);
    console.log(`the unbind returned ${Date.now() - start} ms after the jobs were on the rings`);

    expect(await waits.fences, 'every job').toEqual(fences.map(() => ({ state: 'error', errno: ENODEV })));
    await expectWaitsReturned(waits);
    expect(errnoOf(() => dev.param('numQueues')), 'GET_PARAM').toBe('ENODEV');
    expect(errnoOf(() => dev.createBuffer(4096)), 'BO_CREATE').toBe('ENODEV');
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [buffers[1]!] })), 'SUBMIT').toBe('ENODEV');
    expect(await errnoOfAsync(() => buffers[1]!.wait(0)), 'BO_WAIT').toBe('ENODEV');
    expect(errnoOf(() => Device.open()), 'opening a node').toBe('ENODEV');
    for (const f of fences) f.close();
    for (const bo of buffers) bo.close();
    dev.close();

    bind(address);
    inject('inject_hang', 0);
    using again = Device.open();
    for (let q = 0; q < queues; q++) await fillWorks(again, q, 0x600d + q);
  });

  test(covers(['SUBMIT', 'PRIME_FD_TO_HANDLE'], 'lifetime', 'a job its killed process left waiting on a fence of another driver (vgem): unbinding waits until that fence has signalled and the job is freed; bound again, the device works'), async () => {
    // The fence signals 2 s after the job is orphaned; the unbind begins at once.
    const tool = spawn(ORPHAN_JOB, [ossaNode(), '2000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    tool.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    tool.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => tool.on('close', (code) => resolve(code)));
    expect(await until(() => out.includes('orphaned\n') || tool.exitCode !== null, WAIT_MS), `orphan-job: ${out}${err}`).toBe(true);
    expect(out, `orphan-job: ${err}`).toContain('orphaned\n');
    expect(driverStats().jobs, 'jobs alive, the orphaned one among them').toBeGreaterThanOrEqual(1);

    unbind(address);
    const unbound = process.hrtime.bigint();
    expect(await exited, `orphan-job: ${err}`).toBe(0);
    console.log(`orphan-job: ${out.trim().replace(/\n/g, '; ')}`);
    const signalled = /^signalled (\d+)$/m.exec(out)?.[1];
    expect(signalled, `orphan-job: ${out}`).toBeDefined();
    const early = Number(BigInt(signalled!) - unbound) / 1e6;
    expect(early, `the unbind returned ${early.toFixed(0)} ms before the fence the orphaned job waits on signalled`).toBeLessThanOrEqual(0);

    bind(address);
    using again = Device.open();
    await fillWorks(again, 0, 0x0f0f);
  });

  test.skipIf(NO_HOST)(covers(['BO_CREATE', 'SUBMIT', 'GET_PARAM'], 'good', `a function without MSI-X (the host plugs in msix=off): the driver takes MSI (INTx under pci=nomsi), jobs on every queue complete and an MMU fault bans the context${NO_HOST ? ` (skipped: ${NO_HOST})` : ''}`), async () => {
    await hostRequest({ op: 'unplug' });
    expect(await replug(false), 'vectors of the probe').toEqual([1]);
    const msiIrqs = `/sys/bus/pci/devices/${address}/msi_irqs`;
    expect(existsSync(msiIrqs) ? readdirSync(msiIrqs).length : 0, 'MSI vectors in use').toBe(MSI ? 1 : 0);
    await interruptsWork(0xb0);
    // Back to the device the machine booted with (MSI-X).
    await hostRequest({ op: 'unplug' });
    expect(await replug(), 'vectors once MSI-X is back').toEqual([MSI_VECTORS]);
  });

  test.skipIf(NO_HOST)(covers(['BO_CREATE', 'SUBMIT', 'BO_WAIT', 'SYNCOBJ_WAIT', 'FILL'], 'lifetime', `hot-unplug (QMP device_del) while jobs run and wait on both queues: each job completes or fails with ENODEV, every waiter returns, the node is gone; device_add brings back a working device${NO_HOST ? ` (skipped: ${NO_HOST})` : ''}`), async () => {
    const dev = Device.open();
    const queues = Number(dev.param('numQueues'));
    // Per queue, a chain of jobs writing one buffer: one runs, the others
    // wait for it in the scheduler. Each takes eight slices of 100 ms.
    inject('inject_delay_us', 100_000);
    const shared = Array.from({ length: queues }, () => dev.createBuffer(MIB));
    const fences = Array.from({ length: queues }, (_, q) =>
      Array.from({ length: 6 }, (_, i) => {
        const cs = new CommandStream();
        for (let s = 0; s < 8; s++) cs.fill(shared[q]!.va, MIB, i);
        return dev.submit({ queue: q, commands: cs, buffers: [shared[q]!] });
      }),
    );
    const all = fences.flat();
    const waits = beginWaits(dev, all, shared);
    const ms = await hostRequest({ op: 'unplug' });
    console.log(`device_del: the device was gone ${ms} ms after the request`);

    const states = await waits.fences;
    for (let q = 0; q < queues; q++) {
      const mine = states.slice(6 * q, 6 * q + 6);
      const firstFailed = mine.findIndex((st) => st.state !== 'signaled');
      expect(firstFailed, `queue ${q}: a job still running or waiting at the unplug: ${JSON.stringify(mine)}`).toBeGreaterThanOrEqual(0);
      // In order: the jobs done before the unplug succeeded, every later one failed with ENODEV.
      expect(mine.slice(firstFailed), `queue ${q}`).toEqual(mine.slice(firstFailed).map(() => ({ state: 'error', errno: ENODEV })));
    }
    await expectWaitsReturned(waits);
    expect(errnoOf(() => dev.param('numQueues')), 'GET_PARAM').toBe('ENODEV');
    expect(errnoOf(() => Device.open()), 'opening a node').toBe('ENODEV');
    for (const f of all) f.close();
    for (const bo of shared) bo.close();
    dev.close();

    expect(await replug(), 'vectors after device_add').toEqual([MSI_VECTORS]);
    using again = Device.open();
    for (let q = 0; q < queues; q++) await fillWorks(again, q, 0x9000 + q);
  });
});
