/**
 * Every ossa ioctl once with good input and once with bad, in the guest
 * against the real driver and device.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CommandStream, Device, OssaError, SubmitError } from '../../src/index.js';
import { DRM_IOCTL_BASE, iowr } from '../../src/ioctl.js';
import { Struct } from '../../src/struct.js';
import {
  DRM_IOCTL_OSSA_BO_CREATE,
  DRM_IOCTL_OSSA_BO_INFO,
  DRM_IOCTL_OSSA_GET_PARAM,
  DrmOssaBoCreate,
  DrmOssaBoInfo,
  DrmOssaGetParam,
  OSSA_UAPI_MAJOR,
} from '../../src/uapi.js';
import { debugfsDir, driverStats, inject } from './support/debugfs.js';
import { expectKernelLog } from './support/kernel-log.js';
import { errnoOf, raw, thrownBy } from './support/ossa.js';
import { native } from '../../src/native.js';

const WAIT_MS = 10_000;


describe('GET_PARAM', () => {
  test('reports the device', () => {
    using dev = Device.open();
    const info = dev.info();
    expect(info.driver.name).toBe('ossa');
    expect(info.driver.major, 'the uapi version this library speaks').toBe(OSSA_UAPI_MAJOR);
    expect(info.hwVersion).toEqual({ major: 1, minor: 1 });
    // As many queues as the driver drives (its debugfs lists each one).
    const queues = readFileSync(join(debugfsDir(), 'queues'), 'utf8').split('\n').filter((l) => /^queue \d+:/.test(l));
    expect(queues.length).toBeGreaterThanOrEqual(1);
    expect(info.numQueues).toBe(queues.length);
    expect(info.vaStart).toBeGreaterThan(0n);
    expect(info.maxCmdSize).toBeGreaterThanOrEqual(8);
    expect(info.maxCmdSize % 8).toBe(0);
    expect(info.maxBoSize).toBeGreaterThanOrEqual(info.maxCmdSize);
    expect(info.jobTimeoutMs).toBeGreaterThan(0);
  });

  test('unknown parameter and non-zero pad: EINVAL', () => {
    using dev = Device.open();
    const unknown = Struct.from(DrmOssaGetParam, { param: 1000 });
    expect(errnoOf(() => dev.ioctl('GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, unknown.bytes))).toBe('EINVAL');
    const pad = Struct.from(DrmOssaGetParam, { param: 0, pad: 1 });
    expect(errnoOf(() => dev.ioctl('GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, pad.bytes))).toBe('EINVAL');
  });

  test('an ioctl that is not DRM: ENOTTY; a driver number that is unassigned: EINVAL (DRM core)', () => {
    using dev = Device.open();
    expect(errnoOf(() => dev.ioctl('x', iowr('x'.charCodeAt(0), 1, 16), Buffer.alloc(16)))).toBe('ENOTTY');
    expect(errnoOf(() => dev.ioctl('0x7f', iowr(DRM_IOCTL_BASE, 0x40 + 0x3f, 16), Buffer.alloc(16)))).toBe('EINVAL');
  });
});

describe('BO_CREATE, BO_INFO, BO_MMAP_OFFSET', () => {
  test('a buffer is zeroed, mapped at a VA, and CPU-mappable', () => {
    using dev = Device.open();
    using bo = dev.createBuffer(5000);
    expect(bo.size).toBe(8192);
    expect(bo.va).toBeGreaterThanOrEqual(dev.info().vaStart);
    expect(bo.info()).toEqual({ handle: bo.handle, size: 8192, va: bo.va, deviceReadOnly: false });
    const view = bo.map();
    expect(view.every((b) => b === 0)).toBe(true);
    view[8191] = 0x5a;
    expect(bo.map()[8191]).toBe(0x5a);
  });

  test('bad input: zero size, huge size, unknown flags, unknown handle', () => {
    using dev = Device.open();
    expect(errnoOf(() => dev.createBuffer(0))).toBe('EINVAL');
    expect(errnoOf(() => dev.createBuffer(Number(dev.param('maxBoSize')) + 4096))).toBe('EINVAL');
    expect(raw(dev, 'BO_CREATE', DRM_IOCTL_OSSA_BO_CREATE, DrmOssaBoCreate, { size: 4096, flags: 0x80 }).code).toBe('EINVAL');
    using bo = dev.createBuffer(4096);
    const handle = bo.handle;
    bo.close();
    // The library refuses a closed buffer itself; the kernel no longer knows the handle.
    expect(errnoOf(() => bo.info())).toBe('EBADF');
    expect(raw(dev, 'BO_INFO', DRM_IOCTL_OSSA_BO_INFO, DrmOssaBoInfo, { handle }).code).toBe('ENOENT');
  });
});

describe('SUBMIT and BO_WAIT', () => {
  test('COPY, FILL and CRC32C run and signal their fence', async () => {
    using dev = Device.open();
    using src = dev.createBuffer(1 << 20);
    using dst = dev.createBuffer(1 << 20);
    using out = dev.createBuffer(4096);
    const s = src.map();
    for (let i = 0; i < s.length; i++) s[i] = (i * 7 + 3) & 0xff;
    out.map().set(Buffer.from('123456789'), 64);

    using fence = dev.submit({
      commands: new CommandStream()
        .copy(src.va, dst.va, 1 << 20)
        .fill(out.va, 32, 0xa5a5a5a5)
        .crc32c(out.va + 64n, 9, out.va + 128n),
      buffers: [{ buffer: src, access: 'read' }, dst, out],
    });
    expect(await fence.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.compare(Buffer.from(dst.map()), Buffer.from(s))).toBe(0);
    const o = Buffer.from(out.map());
    expect(o.readUInt32LE(0)).toBe(0xa5a5a5a5);
    expect(o.readUInt32LE(28)).toBe(0xa5a5a5a5);
    expect(o.readUInt32LE(128)).toBe(0xe3069283);
    expect(await out.wait(WAIT_MS)).toBe('success');
  });

  test('the first and last queues, and a job waiting for another through a syncobj', async () => {
    using dev = Device.open();
    using a = dev.createBuffer(4096);
    using b = dev.createBuffer(4096);
    using first = dev.submit({ queue: Number(dev.param('numQueues')) - 1, commands: new CommandStream().fill(a.va, 4096, 0x11223344), buffers: [a] });
    using second = dev.submit({
      queue: 0,
      commands: new CommandStream().copy(a.va, b.va, 4096),
      buffers: [{ buffer: a, access: 'read' }, b],
      waitFor: [first],
    });
    expect(await second.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(b.map()).readUInt32LE(4092)).toBe(0x11223344);
  });

  test('bad jobs are refused with their status, and the batch queues nothing', () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    const queues = Number(dev.param('numQueues'));
    const err = thrownBy(() =>
      dev.submitBatch([
        { commands: new CommandStream().nop(), buffers: [bo] },
        { queue: queues, commands: new CommandStream().nop(), buffers: [bo] },
      ]),
    );
    expect(err, `a job on queue ${queues} (of ${queues}) was queued`).toBeInstanceOf(SubmitError);
    const e = err as SubmitError;
    expect(e.code).toBe('EINVAL');
    expect(e.ioctl).toBe('DRM_IOCTL_OSSA_SUBMIT');
    expect(e.statuses).toEqual([-125, -22]);
  });

  test('an access outside the context faults: EFAULT, then the context is banned', async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using fence = dev.submit({ commands: new CommandStream().fill(0x7000_0000_00n, 4096, 1), buffers: [bo] });
    expect(await fence.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo] }))).toBe('ECANCELED');
    // Another file has its own context and is unaffected.
    using other = Device.open();
    using obo = other.createBuffer(4096);
    using ok = other.submit({ commands: new CommandStream().fill(obo.va, 4096, 2), buffers: [obo] });
    expect(await ok.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  });

  test('a device-read-only buffer: listed for writing, SUBMIT is EINVAL; listed for reading, a write to it faults', async () => {
    using dev = Device.open();
    using ro = dev.createBuffer(4096, { deviceReadOnly: true });
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().fill(ro.va, 4096, 3), buffers: [{ buffer: ro, access: 'readwrite' }] }))).toBe('EINVAL');
    using fence = dev.submit({ commands: new CommandStream().fill(ro.va, 4096, 3), buffers: [{ buffer: ro, access: 'read' }] });
    expect(await fence.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
    expect(new Uint32Array(ro.map().buffer, 0, 1)[0], 'the device wrote nothing').toBe(0);
  });
});

describe('PRIME and syncobj fds', () => {
  test('a buffer exported and imported into another file shares its memory', async () => {
    using a = Device.open();
    using b = Device.open();
    using bo = a.createBuffer(4096);
    const fd = a.exportBuffer(bo);
    using imported = b.importBuffer(fd);
    native().close(fd);
    expect(imported.size).toBe(4096);
    using fence = b.submit({ commands: new CommandStream().fill(imported.va, 4096, 0xcafef00d), buffers: [imported] });
    expect(await fence.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(bo.map()).readUInt32LE(0)).toBe(0xcafef00d);
  });

  test('a syncobj exported to another file signals there', async () => {
    using a = Device.open();
    using b = Device.open();
    using s = a.createSyncobj();
    const fd = s.exportFd();
    using t = b.importSyncobj(fd);
    native().close(fd);
    // No fence yet and no WAIT_FOR_SUBMIT: exporting the fence to wait on,
    // as a sync_file, says EINVAL.
    const early = await t.wait(0, { forSubmit: false }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(OssaError);
    expect({ code: (early as OssaError).code, ioctl: (early as OssaError).ioctl }).toEqual({ code: 'EINVAL', ioctl: 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD' });
    s.signal();
    expect(await t.wait(WAIT_MS)).toBe(true);
  });
});

expectKernelLog(/device reset|ossa-q\d recovered: a job timed out/);

describe('recovery (debugfs fault injection)', () => {
  test('a hung job times out with ETIMEDOUT; its queue recovers without a device reset; the innocent job queued behind it runs', async () => {
    const before = driverStats();
    using guilty = Device.open();
    using innocent = Device.open();
    using gbo = guilty.createBuffer(4096);
    using ibo = innocent.createBuffer(4096);
    inject('inject_hang', 1); // queue 0 stops making progress
    using g = guilty.submit({ queue: 0, commands: new CommandStream().fill(gbo.va, 4096, 1), buffers: [gbo] });
    using i = innocent.submit({ queue: 0, commands: new CommandStream().fill(ibo.va, 4096, 2), buffers: [ibo] });
    expect(await g.settle(WAIT_MS)).toEqual({ state: 'error', errno: 110 });
    expect(await i.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(ibo.map()).readUInt32LE(0)).toBe(2);
    expect(driverStats()).toMatchObject({ recoveries: before.recoveries + 1, resets: before.resets });
    expect(errnoOf(() => guilty.submit({ commands: new CommandStream().nop(), buffers: [gbo] }))).toBe('ECANCELED');
    using after = innocent.submit({ queue: 0, commands: new CommandStream().fill(ibo.va, 4096, 3), buffers: [ibo] });
    expect(await after.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  });

  test('closing a file with jobs in flight frees everything once they are done', async () => {
    const before = driverStats();
    inject('inject_delay_us', 20_000); // 20 ms after each 1 MiB slice
    try {
      const dev = Device.open();
      const bo = dev.createBuffer(8 << 20);
      dev.submit({ queue: Number(dev.param('numQueues')) - 1, commands: new CommandStream().fill(bo.va, 8 << 20, 5), buffers: [bo] });
      bo.close();
      dev.close();
      // The job still runs: a new file works meanwhile.
      using other = Device.open();
      using obo = other.createBuffer(4096);
      using f = other.submit({ queue: 0, commands: new CommandStream().fill(obo.va, 4096, 6), buffers: [obo] });
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    } finally {
      inject('inject_delay_us', 0);
    }
    // Everything of the closed file goes away when its job is done.
    for (let i = 0; i < 100 && driverStats().jobs !== before.jobs; i++) await new Promise((r) => setTimeout(r, 50));
    const now = driverStats();
    expect({ bos: now.bos, contexts: now.contexts, jobs: now.jobs }).toEqual({
      bos: before.bos,
      contexts: before.contexts,
      jobs: before.jobs,
    });
  });
});
