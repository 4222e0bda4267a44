/**
 * Tier 2, ossa: faults injected into the device (debugfs): a hang is
 * timed out, the device reset and the next job runs; an injected job
 * error fails only that job; slow DMA makes waits time out honestly.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { CommandStream, Device } from '../../../src/index.js';
import { driverStats, inject } from '../support/debugfs.js';
import { expectKernelLog } from '../support/kernel-log.js';
import { errnoOf, syncobjWait, WAIT_MS } from '../support/ossa.js';

expectKernelLog(/device reset/);

afterEach(() => {
  inject('inject_hang', 0);
  inject('inject_fail', 0);
  inject('inject_delay_us', 0);
});

describe('faults', () => {
  test(covers(['SUBMIT', 'SYNCOBJ_WAIT', 'FILL'], 'fault', 'a hung queue: the job fails with ETIMEDOUT, the device resets, the next job succeeds'), async () => {
    const resets = driverStats().resets;
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    const last = Number(dev.param('numQueues')) - 1;
    inject('inject_hang', 1 << last); // the last queue
    using hung = dev.submit({ queue: last, commands: new CommandStream().fill(bo.va, 4096, 1), buffers: [bo] });
    // DRM_IOCTL_SYNCOBJ_WAIT returns once the timeout handler has failed the
    // job; the fence carries the error.
    expect(await syncobjWait(dev, [hung.handle], WAIT_MS)).toBe('ok');
    expect(await hung.settle(0)).toEqual({ state: 'error', errno: 110 });
    expect(driverStats().resets).toBe(resets + 1);
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo] }))).toBe('ECANCELED');
    using next = Device.open();
    using nbo = next.createBuffer(4096);
    using ok = next.submit({ queue: last, commands: new CommandStream().fill(nbo.va, 4096, 2), buffers: [nbo] });
    expect(await ok.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  });

  test(covers(['BO_WAIT', 'COPY'], 'fault', 'BO_WAIT reports a timed-out job as timeout, and the buffer stays usable elsewhere'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    inject('inject_hang', 1);
    using hung = dev.submit({ queue: 0, commands: new CommandStream().copy(bo.va, bo.va + 2048n, 64), buffers: [bo] });
    expect(await bo.wait(WAIT_MS)).toBe('hung');
    expect(await hung.settle(0)).toEqual({ state: 'error', errno: 110 });
  });

  test(covers(['SUBMIT', 'BO_WAIT', 'CRC32C'], 'fault', 'an injected job error fails that job (EIO) and no other'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    inject('inject_fail', 1);
    using bad = dev.submit({ commands: new CommandStream().crc32c(bo.va, 64, bo.va + 128n), buffers: [bo] });
    expect(await bad.settle(WAIT_MS)).toEqual({ state: 'error', errno: 5 });
    expect(await bo.wait(WAIT_MS)).toBe('error');
    using good = dev.submit({ commands: new CommandStream().crc32c(bo.va, 64, bo.va + 128n), buffers: [bo] });
    expect(await good.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  });

  test(covers(['BO_WAIT', 'SYNCOBJ_WAIT', 'FMA_F32'], 'fault', 'slow DMA: a short wait times out, a long one succeeds'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4 << 20);
    inject('inject_delay_us', 50_000); // 50 ms after each slice
    using f = dev.submit({ commands: new CommandStream().fmaF32(1 << 18, bo.va, bo.va, bo.va, bo.va + (1n << 20n)), buffers: [bo] });
    expect(await bo.wait(1)).toBe('timeout');
    expect(await syncobjWait(dev, [f.handle], 1)).toBe('ETIME');
    expect(await syncobjWait(dev, [f.handle], WAIT_MS)).toBe('ok');
    expect(await f.settle(0)).toEqual({ state: 'signaled' });
  });

  test(covers(['SUBMIT', 'TIMESTAMP', 'NOP'], 'fault', 'a device reset through debugfs: jobs on the rings run again and complete'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 20);
    inject('inject_delay_us', 20_000);
    using f = dev.submit({ commands: new CommandStream().timestamp(bo.va).fill(bo.va + 64n, (1 << 20) - 64, 3).nop(), buffers: [bo] });
    const { writeFileSync } = await import('node:fs');
    const { debugfsDir } = await import('../support/debugfs.js');
    writeFileSync(`${debugfsDir()}/reset`, '1');
    inject('inject_delay_us', 0);
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(bo.map()).readUInt32LE((1 << 20) - 4)).toBe(3);
  });
});
