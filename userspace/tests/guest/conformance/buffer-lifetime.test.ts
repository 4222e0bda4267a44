/**
 * Tier 2, ossa: a buffer closed while its file's job is on the device. The
 * device reuses the level-0 page tables it read for the rest of a slice
 * (docs/hardware.md, 7.2), so a job already running may still reach the
 * closed buffer's pages: the driver keeps them, and the buffer's device
 * addresses, until the context's jobs on the device are done.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { CommandStream, Device, type DeviceBuffer, type Fence } from '../../../src/index.js';
import { driverStats, inject, liveObjects, until } from '../support/debugfs.js';
import { WAIT_MS } from '../support/ossa.js';

const MIB = 1 << 20;
/**
 * Device time after each slice: a job of SLICES slices runs for SLICES ×
 * this, 1.4 s, within the driver's 2 s job timeout and long after the
 * checks made right after the close, even on the debug kernel.
 */
const DELAY_US = 35_000;
const SLICES = 40;

afterEach(() => inject('inject_delay_us', 0));

/**
 * A job of SLICES slices, one FILL of 1 MiB each: the first writes
 * `target` without listing it, the others a buffer of its own.
 */
function longJobOn(dev: Device, target: DeviceBuffer): Fence {
  using own = dev.createBuffer(MIB);
  const cs = new CommandStream().fill(target.va, MIB, 1);
  for (let i = 1; i < SLICES; i++) cs.fill(own.va, MIB, i);
  return dev.submit({ queue: 0, commands: cs, buffers: [own] });
}

/** Resolves once the job has had time for a few slices. */
async function running(): Promise<void> {
  await new Promise((r) => setTimeout(r, (3 * DELAY_US) / 1000));
}

/**
 * Memory this process fills with a pattern right after the buffer's
 * pages would have been freed: they are the first the kernel hands out
 * again. Checked after the job is done.
 */
function patternAfterFree(): Buffer {
  return Buffer.alloc(8 * MIB, 0x5a);
}

describe('closing a buffer that a running job reaches', () => {
  test(covers(['BO_CREATE', 'SUBMIT', 'FILL'], 'lifetime', 'closing the handle: the pages stay until the job on the device is done, then go; memory taken meanwhile is intact'), async () => {
    using dev = Device.open();
    const target = dev.createBuffer(MIB);
    inject('inject_delay_us', DELAY_US);
    using job = longJobOn(dev, target);
    await running();
    const held = driverStats().bos;
    target.close();
    const closed = driverStats();
    const pattern = patternAfterFree();
    expect(closed.jobs, 'the job, still running when the handle was closed').toBe(1);
    expect(closed.bos, 'BOs right after the handle was closed').toBe(held);
    expect(await job.settle(WAIT_MS), 'the job').toEqual({ state: 'signaled' });
    // The closed buffer and the job's own one (whose handle went at once).
    expect(await until(() => driverStats().bos === held - 2), 'the buffers, freed once the job is done').toBe(true);
    expect(pattern.every((b) => b === 0x5a), 'memory taken after the close').toBe(true);
  });

  test(covers(['BO_CREATE', 'SUBMIT', 'FILL'], 'lifetime', 'closing the file: the pages stay until the job on the device is done; then every object of the file is freed'), async () => {
    const baseline = liveObjects();
    const dev = Device.open();
    const target = dev.createBuffer(MIB);
    inject('inject_delay_us', DELAY_US);
    longJobOn(dev, target);
    await running();
    const held = liveObjects();
    dev.close();
    const closed = driverStats();
    const pattern = patternAfterFree();
    expect(closed.jobs, 'the job, still running when the file was closed').toBe(held.jobs);
    expect(closed.bos, 'BOs right after the file was closed').toBe(held.bos);
    expect(await until(() => JSON.stringify(liveObjects()) === JSON.stringify(baseline), WAIT_MS), `objects alive: ${JSON.stringify(liveObjects())}`).toBe(true);
    expect(pattern.every((b) => b === 0x5a), 'memory taken after the close').toBe(true);
  });
});
