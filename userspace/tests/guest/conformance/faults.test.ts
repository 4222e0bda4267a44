/**
 * Tier 2, ossa: faults injected into the device (debugfs): a hang is
 * timed out, its queue recovered and the next job runs; an injected job
 * error fails only that job; slow DMA makes waits time out honestly.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { CommandStream, Device } from '../../../src/index.js';
import { debugfsDir, driverStats, inject, until } from '../support/debugfs.js';
import { expectKernelLog } from '../support/kernel-log.js';
import { ossaPciAddress, setBusMaster } from '../support/pci.js';
import { errnoOf, syncobjWait, WAIT_MS } from '../support/ossa.js';

expectKernelLog(/device reset|ossa-q\d recovered: (a job timed out|it had stopped on a queue error)/);

afterEach(() => {
  inject('inject_hang', 0);
  inject('inject_fail', 0);
  inject('inject_delay_us', 0);
});

describe('faults', () => {
  test(covers(['SUBMIT', 'SYNCOBJ_WAIT', 'FILL'], 'fault', 'a hung queue: the job fails with ETIMEDOUT, the queue recovers (no device reset), the next job succeeds'), async () => {
    const before = driverStats();
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    const last = Number(dev.param('numQueues')) - 1;
    inject('inject_hang', 1 << last); // the last queue
    using hung = dev.submit({ queue: last, commands: new CommandStream().fill(bo.va, 4096, 1), buffers: [bo] });
    // DRM_IOCTL_SYNCOBJ_WAIT returns once the timeout handler has failed the
    // job; the fence carries the error.
    expect(await syncobjWait(dev, [hung.handle], WAIT_MS)).toBe('ok');
    expect(await hung.settle(0)).toEqual({ state: 'error', errno: 110 });
    expect(driverStats()).toMatchObject({ recoveries: before.recoveries + 1, resets: before.resets });
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

  test(covers(['SUBMIT', 'FILL'], 'fault', "a queue error (bus mastering off: the device cannot read its ring) is not the job's fault: it fails with EIO, its file is not banned, the next job runs"), async () => {
    const address = ossaPciAddress();
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    const before = driverStats();
    // The device stops the queue when it cannot read the descriptor. Its
    // interrupt is lost with MSI-X (an MSI is a write, which bus mastering
    // gates), so the job timeout finds the stopped queue; with INTx
    // (pci=nomsi) the interrupt comes at once.
    setBusMaster(address, false);
    try {
      using stopped = dev.submit({ queue: 0, commands: new CommandStream().fill(bo.va, 4096, 1), buffers: [bo] });
      expect(await stopped.settle(WAIT_MS)).toEqual({ state: 'error', errno: 5 });
    } finally {
      setBusMaster(address, true);
    }
    expect(driverStats()).toMatchObject({ recoveries: before.recoveries + 1, resets: before.resets });
    using next = dev.submit({ queue: 0, commands: new CommandStream().fill(bo.va, 4096, 2), buffers: [bo] });
    expect(await next.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(bo.map()).readUInt32LE(0)).toBe(2);
  });

  test(covers(['SUBMIT', 'TIMESTAMP', 'FILL', 'NOP'], 'fault', 'a device reset through debugfs: the running job fails with EIO and is not run again; the job queued after it runs once'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 20);
    using stamp = dev.createBuffer(4096);
    using other = dev.createBuffer(4096);
    inject('inject_delay_us', 50_000); // after each slice: eight FILLs of 1 MiB take 400 ms
    const fills = new CommandStream();
    for (let i = 0; i < 8; i++) fills.fill(bo.va, 1 << 20, i);
    using running = dev.submit({ queue: 0, commands: fills.timestamp(stamp.va), buffers: [bo, stamp] });
    using queued = dev.submit({ queue: 0, commands: new CommandStream().fill(other.va, 64, 4).nop(), buffers: [other] });
    // Both on queue 0's ring (debugfs queues: "queue 0: head H tail T ...").
    const onRing = (): number => {
      const m = /^queue 0: head (\d+) tail (\d+)/m.exec(readFileSync(join(debugfsDir(), 'queues'), 'utf8'));
      return m ? Number(m[2]) - Number(m[1]) : -1;
    };
    expect(await until(() => onRing() === 2, WAIT_MS), 'both jobs on the ring').toBe(true);
    const resets = driverStats().resets;
    writeFileSync(join(debugfsDir(), 'reset'), '1');
    inject('inject_delay_us', 0);
    expect(driverStats().resets).toBe(resets + 1);
    expect(await running.settle(WAIT_MS)).toEqual({ state: 'error', errno: 5 });
    expect(await queued.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    // The stopped job's TIMESTAMP never ran: it was not run again.
    expect(Buffer.from(stamp.map()).readBigUInt64LE(0)).toBe(0n);
    expect(Buffer.from(other.map()).readUInt32LE(0)).toBe(4);
  });
});
