/**
 * Tier 2, ossa: every ioctl with good input and with each invalid field,
 * lifetimes of buffers and files, and leaks.
 */
import { closeSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { DRM_IOCTL_GEM_CLOSE, DrmGemClose } from '../../../src/drm.js';
import { CommandStream, Device, SubmitError } from '../../../src/index.js';
import { native } from '../../../src/native.js';
import { Struct } from '../../../src/struct.js';
import {
  DRM_IOCTL_OSSA_BO_CREATE,
  DRM_IOCTL_OSSA_BO_INFO,
  DRM_IOCTL_OSSA_BO_MMAP_OFFSET,
  DRM_IOCTL_OSSA_BO_WAIT,
  DRM_IOCTL_OSSA_GET_PARAM,
  DRM_IOCTL_OSSA_SUBMIT,
  DrmOssaBoCreate,
  DrmOssaBoInfo,
  DrmOssaBoMmapOffset,
  DrmOssaBoRef,
  DrmOssaBoWait,
  DrmOssaGetParam,
  DrmOssaJob,
  DrmOssaSubmit,
  Param,
} from '../../../src/uapi.js';
import { liveObjects } from '../support/debugfs.js';
import { BAD_POINTER, errnoOf, raw, WAIT_MS } from '../support/ossa.js';

describe('GET_PARAM', () => {
  test(covers('GET_PARAM', 'good', 'every parameter answers, per device or per file'), () => {
    using a = Device.open();
    using b = Device.open();
    for (const name of Object.keys(Param) as Array<keyof typeof Param>) expect(typeof a.param(name)).toBe('bigint');
    expect(a.param('contextId')).not.toBe(b.param('contextId'));
    expect(a.param('vaStart') + a.param('vaSize')).toBe(1n << 39n);
  });

  test(covers('GET_PARAM', 'bad-input', 'unknown parameter, non-zero pad, bad pointer'), () => {
    using dev = Device.open();
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 8 }).code).toBe('EINVAL');
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 0xffff_ffff }).code).toBe('EINVAL');
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 0, pad: 1 }).code).toBe('EINVAL');
    expect(errnoOf(() => dev.ioctl('GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, null))).toBe('EFAULT');
  });

  test(covers('GET_PARAM', 'concurrency', 'files opened together each get their own context'), () => {
    const files = Array.from({ length: 16 }, () => Device.open());
    try {
      const ids = new Set(files.map((f) => f.param('contextId')));
      expect(ids.size).toBe(16);
    } finally {
      for (const f of files) f.close();
    }
  });
});

describe('BO_CREATE, BO_INFO, BO_MMAP_OFFSET', () => {
  test(covers(['BO_CREATE', 'BO_INFO'], 'good', 'sizes round up to pages; flags and VA are reported; VAs do not overlap'), () => {
    using dev = Device.open();
    const sizes = [1, 4095, 4096, 4097, 1 << 20];
    const bos = sizes.map((s) => dev.createBuffer(s));
    try {
      expect(bos.map((b) => b.size)).toEqual([4096, 4096, 4096, 8192, 1 << 20]);
      const ranges = bos.map((b) => [b.va, b.va + BigInt(b.size)] as const).sort((x, y) => (x[0] < y[0] ? -1 : 1));
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1]);
      using ro = dev.createBuffer(4096, { deviceReadOnly: true });
      expect(ro.info().deviceReadOnly).toBe(true);
    } finally {
      for (const b of bos) b.close();
    }
  });

  test(covers('BO_CREATE', 'bad-input', 'size 0, above the maximum, overflowing; unknown flags; bad pointer'), () => {
    using dev = Device.open();
    const create = (fields: Partial<Record<'size' | 'flags' | 'handle' | 'va', number | bigint>>): string =>
      raw(dev, 'BO_CREATE', DRM_IOCTL_OSSA_BO_CREATE, DrmOssaBoCreate, fields).code;
    expect(create({ size: 0 })).toBe('EINVAL');
    expect(create({ size: (1n << 30n) + 1n })).toBe('EINVAL');
    expect(create({ size: 0xffff_ffff_ffff_f000n })).toBe('EINVAL');
    expect(create({ size: 4096, flags: 2 })).toBe('EINVAL');
    expect(create({ size: 4096, flags: 0x8000_0000 })).toBe('EINVAL');
    expect(errnoOf(() => dev.ioctl('BO_CREATE', DRM_IOCTL_OSSA_BO_CREATE, null))).toBe('EFAULT');
  });

  test(covers(['BO_INFO', 'BO_MMAP_OFFSET'], 'bad-input', 'unknown handle, handle 0, non-zero pad'), () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    expect(raw(dev, 'BO_INFO', DRM_IOCTL_OSSA_BO_INFO, DrmOssaBoInfo, { handle: 0 }).code).toBe('ENOENT');
    expect(raw(dev, 'BO_INFO', DRM_IOCTL_OSSA_BO_INFO, DrmOssaBoInfo, { handle: bo.handle + 1000 }).code).toBe('ENOENT');
    expect(raw(dev, 'BO_MMAP_OFFSET', DRM_IOCTL_OSSA_BO_MMAP_OFFSET, DrmOssaBoMmapOffset, { handle: 0 }).code).toBe('ENOENT');
    expect(raw(dev, 'BO_MMAP_OFFSET', DRM_IOCTL_OSSA_BO_MMAP_OFFSET, DrmOssaBoMmapOffset, { handle: bo.handle, pad: 1 }).code).toBe('EINVAL');
  });

  test(covers(['BO_CREATE', 'BO_INFO', 'BO_MMAP_OFFSET', 'GEM_CLOSE'], 'lifetime', 'use after close is ENOENT; double close is EINVAL; close while mapped keeps the memory'), () => {
    using dev = Device.open();
    const bo = dev.createBuffer(4096);
    const view = bo.map();
    const h = bo.handle;
    expect(raw(dev, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: h }).code).toBe('ok');
    expect(raw(dev, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: h }).code).toBe('EINVAL');
    expect(raw(dev, 'BO_INFO', DRM_IOCTL_OSSA_BO_INFO, DrmOssaBoInfo, { handle: h }).code).toBe('ENOENT');
    expect(raw(dev, 'BO_MMAP_OFFSET', DRM_IOCTL_OSSA_BO_MMAP_OFFSET, DrmOssaBoMmapOffset, { handle: h }).code).toBe('ENOENT');
    view[4095] = 1;
    expect(view[4095]).toBe(1);
    native().munmap(view.buffer as ArrayBuffer);
  });

  test(covers(['BO_CREATE', 'BO_INFO', 'BO_MMAP_OFFSET', 'GEM_CLOSE'], 'leak', '200 buffers created, mapped and closed leave no object behind'), () => {
    const before = liveObjects();
    using dev = Device.open();
    for (let i = 0; i < 200; i++) {
      using bo = dev.createBuffer(4096 * (1 + (i % 4)));
      bo.map()[0] = i & 0xff;
      bo.info();
    }
    expect(liveObjects().bos).toBe(before.bos);
  });

  test(covers('BO_CREATE', 'concurrency', 'many files create buffers at once; each sees only its own'), () => {
    const files = Array.from({ length: 8 }, () => Device.open());
    try {
      const bos = files.map((f) => f.createBuffer(4096));
      // The same handle number in another file is another buffer or nothing.
      for (let i = 0; i < files.length; i++) {
        const next = files[(i + 1) % files.length] as Device;
        const info = Struct.from(DrmOssaBoInfo, { handle: (bos[i] as { handle: number }).handle });
        const code = errnoOf(() => next.ioctl('BO_INFO', DRM_IOCTL_OSSA_BO_INFO, info.bytes));
        if (code === 'ok') expect(info.big('va')).toBe((bos[(i + 1) % files.length] as { va: bigint }).va);
      }
      for (const b of bos) b.close();
    } finally {
      for (const f of files) f.close();
    }
  });
});

/** A submission built field by field, so that each can be made wrong. */
function submitRaw(
  dev: Device,
  job: Partial<Record<keyof typeof DrmOssaJob.fields, number | bigint>>,
  refs: Array<{ handle: number; flags: number }>,
  submit: Partial<Record<keyof typeof DrmOssaSubmit.fields, number | bigint>> = {},
): { code: string; status: number } {
  const refBuf = Buffer.alloc(Math.max(1, refs.length) * DrmOssaBoRef.size);
  refs.forEach((r, i) => Struct.from(DrmOssaBoRef, r).bytes.copy(refBuf, i * DrmOssaBoRef.size));
  const jobs = Struct.from(DrmOssaJob, { bos: native().address(refBuf), bo_count: refs.length, ...job });
  const s = Struct.from(DrmOssaSubmit, { jobs: native().address(jobs.bytes), job_count: 1, job_stride: DrmOssaJob.size, ...submit });
  const code = errnoOf(() => dev.ioctl('SUBMIT', DRM_IOCTL_OSSA_SUBMIT, s.bytes));
  return { code, status: jobs.num('status') };
}

describe('SUBMIT', () => {
  test(covers('SUBMIT', 'bad-input', 'each invalid field of a job is refused with its errno in the job status'), () => {
    using dev = Device.open();
    using cmd = dev.createBuffer(4096, { deviceReadOnly: true });
    cmd.map().set(new CommandStream().nop().toBuffer());
    const ok = { cmd_va: cmd.va, cmd_size: 8, queue: 0 };
    const refs = [{ handle: cmd.handle, flags: 1 }];
    expect(submitRaw(dev, ok, refs)).toEqual({ code: 'ok', status: 0 });
    const cases: Array<[string, Parameters<typeof submitRaw>[1], Parameters<typeof submitRaw>[2], string]> = [
      ['flags', { ...ok, flags: 1 }, refs, 'EINVAL'],
      ['pad', { ...ok, pad: 1 }, refs, 'EINVAL'],
      ['queue', { ...ok, queue: 2 }, refs, 'EINVAL'],
      ['cmd_size 0', { ...ok, cmd_size: 0 }, refs, 'EINVAL'],
      ['cmd_size unaligned', { ...ok, cmd_size: 12 }, refs, 'EINVAL'],
      ['cmd_size huge', { ...ok, cmd_size: (1 << 20) + 8 }, refs, 'EINVAL'],
      ['cmd_va unaligned', { ...ok, cmd_va: cmd.va + 4n }, refs, 'EINVAL'],
      ['stream outside the BOs', { ...ok, cmd_va: cmd.va + 4096n }, refs, 'EINVAL'],
      ['stream overflowing', { ...ok, cmd_va: 0xffff_ffff_ffff_fff8n }, refs, 'EINVAL'],
      ['no BOs', ok, [], 'EINVAL'],
      ['unknown BO', ok, [{ handle: 0x7fff_fff0, flags: 1 }], 'ENOENT'],
      ['BO ref flags 0', ok, [{ handle: cmd.handle, flags: 0 }], 'EINVAL'],
      ['BO ref flags unknown', ok, [{ handle: cmd.handle, flags: 4 }], 'EINVAL'],
      ['same BO twice', ok, [...refs, ...refs], 'EINVAL'],
      ['bad BO pointer', { ...ok, bos: BAD_POINTER }, refs, 'EFAULT'],
      ['too many in-syncobjs', { ...ok, in_syncobj_count: 65 }, refs, 'EINVAL'],
      ['bad in-syncobj pointer', { ...ok, in_syncobj_count: 1, in_syncobjs: BAD_POINTER }, refs, 'EFAULT'],
      ['unknown out-syncobj', { ...ok, out_syncobj: 0x7fff_fff0 }, refs, 'ENOENT'],
    ];
    const errnos: Record<string, number> = { EINVAL: -22, ENOENT: -2, EFAULT: -14 };
    for (const [what, job, r, want] of cases) {
      expect({ what, ...submitRaw(dev, job, r) }).toEqual({ what, code: want, status: errnos[want] });
    }
  });

  test(covers('SUBMIT', 'bad-input', 'the submission itself: job count 0 or above 64, short stride, flags, pad, bad pointer'), () => {
    using dev = Device.open();
    using cmd = dev.createBuffer(4096);
    const ok = { cmd_va: cmd.va, cmd_size: 8 };
    const refs = [{ handle: cmd.handle, flags: 1 }];
    expect(submitRaw(dev, ok, refs, { job_count: 0 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { job_count: 65 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { job_stride: DrmOssaJob.size - 8 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { flags: 1 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { pad: 1 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { jobs: BAD_POINTER }).code).toBe('EFAULT');
  });

  test(covers('SUBMIT', 'good', 'a batch on both queues, ordered by implicit sync on a shared buffer'), async () => {
    using dev = Device.open();
    using a = dev.createBuffer(1 << 16);
    using b = dev.createBuffer(1 << 16);
    const fences = dev.submitBatch([
      { queue: 0, commands: new CommandStream().fill(a.va, 1 << 16, 0x01020304), buffers: [a] },
      { queue: 1, commands: new CommandStream().copy(a.va, b.va, 1 << 16), buffers: [{ buffer: a, access: 'read' }, b] },
    ]);
    expect(await fences[1]?.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(b.map()).readUInt32LE((1 << 16) - 4)).toBe(0x01020304);
    for (const f of fences) f.close();
  });

  test(covers('SUBMIT', 'bad-input', 'one bad job in a batch: nothing runs, statuses say which'), async () => {
    using dev = Device.open();
    using a = dev.createBuffer(4096);
    try {
      dev.submitBatch([
        { commands: new CommandStream().fill(a.va, 4096, 7), buffers: [a] },
        { queue: 9, commands: new CommandStream().nop(), buffers: [a] },
        { commands: new CommandStream().fill(a.va, 4096, 8), buffers: [a] },
      ]);
      expect.fail('a batch with a bad job was queued');
    } catch (err) {
      expect((err as SubmitError).statuses).toEqual([-125, -22, -125]);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.from(a.map()).readUInt32LE(0)).toBe(0);
  });

  test(covers(['SUBMIT', 'BO_CREATE', 'GEM_CLOSE', 'COPY'], 'lifetime', 'buffers closed right after submit stay alive until the job is done'), async () => {
    using dev = Device.open();
    const src = dev.createBuffer(1 << 20);
    using dst = dev.createBuffer(1 << 20);
    src.map().fill(0x5c);
    using fence = dev.submit({ commands: new CommandStream().copy(src.va, dst.va, 1 << 20), buffers: [src, dst] });
    src.close();
    expect(await fence.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(dst.map()[(1 << 20) - 1]).toBe(0x5c);
  });

  test(covers(['SUBMIT', 'SYNCOBJ_WAIT'], 'bad-input', 'waiting for a syncobj that has no fence yet is EINVAL'), () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using empty = dev.createSyncobj();
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo], waitFor: [empty] }))).toBe('EINVAL');
  });

  test(covers(['SUBMIT', 'SYNCOBJ_WAIT', 'SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY'], 'leak', '100 jobs leave no job, buffer or context behind'), async () => {
    const before = liveObjects();
    {
      using dev = Device.open();
      using bo = dev.createBuffer(4096);
      for (let i = 0; i < 100; i++) {
        using f = dev.submit({ queue: i % 2, commands: new CommandStream().fill(bo.va, 64, i), buffers: [bo] });
        if (i % 10 === 9) expect(await f.wait(WAIT_MS)).toBe(true);
      }
      expect(await bo.wait(WAIT_MS)).toBe('success');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(liveObjects()).toEqual(before);
  });
});

describe('PRIME and syncobjs with jobs', () => {
  test(covers(['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE', 'GEM_CLOSE'], 'leak', '100 export/import round trips between files leave no buffer behind'), () => {
    const before = liveObjects();
    {
      using a = Device.open();
      using b = Device.open();
      for (let i = 0; i < 100; i++) {
        using bo = a.createBuffer(4096);
        const fd = a.exportBuffer(bo);
        using imp = b.importBuffer(fd);
        closeSync(fd);
        imp.map()[0] = i;
      }
    }
    expect(liveObjects()).toEqual(before);
  });

  test(covers(['SYNCOBJ_RESET', 'SUBMIT'], 'lifetime', "resetting a job's out-syncobj while the job runs: the job completes, the syncobj is empty"), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(8 << 20);
    using s = dev.createSyncobj();
    dev.submit({ commands: new CommandStream().fill(bo.va, 8 << 20, 4), buffers: [bo], signal: s });
    s.reset();
    expect(await s.wait(10, { forSubmit: true })).toBe(false);
    expect(await bo.wait(WAIT_MS)).toBe('success');
    expect(Buffer.from(bo.map()).readUInt32LE((8 << 20) - 4)).toBe(4);
  });
});

describe('BO_WAIT', () => {
  const wait = (dev: Device, fields: Partial<Record<keyof typeof DrmOssaBoWait.fields, number | bigint>>): string =>
    raw(dev, 'BO_WAIT', DRM_IOCTL_OSSA_BO_WAIT, DrmOssaBoWait, fields).code;

  test(covers('BO_WAIT', 'good', 'an idle buffer returns at once with success; a busy one when its job is done'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(8 << 20);
    expect(await bo.wait(0)).toBe('success');
    using f = dev.submit({ commands: new CommandStream().fill(bo.va, 8 << 20, 3), buffers: [bo] });
    expect(await bo.wait(WAIT_MS)).toBe('success');
    expect(await f.wait(0)).toBe(true);
  });

  test(covers('BO_WAIT', 'bad-input', 'unknown handle, flags, pad, negative timeout'), () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    expect(wait(dev, { handle: 0x7fff_fff0 })).toBe('ENOENT');
    expect(wait(dev, { handle: bo.handle, flags: 1 })).toBe('EINVAL');
    expect(wait(dev, { handle: bo.handle, pad: 1 })).toBe('EINVAL');
    expect(wait(dev, { handle: bo.handle, timeout_ns: -1n })).toBe('EINVAL');
    expect(wait(dev, { handle: bo.handle, timeout_ns: 0x7fff_ffff_ffff_ffffn })).toBe('ok');
  });

  test(covers(['BO_WAIT', 'PRIME_FD_TO_HANDLE'], 'lifetime', 'a wait through an imported handle sees the exporter\'s job'), async () => {
    using a = Device.open();
    using b = Device.open();
    using bo = a.createBuffer(4 << 20);
    const fd = a.exportBuffer(bo);
    using imported = b.importBuffer(fd);
    closeSync(fd);
    using f = a.submit({ commands: new CommandStream().fill(bo.va, 4 << 20, 9), buffers: [bo] });
    expect(await imported.wait(WAIT_MS)).toBe('success');
    expect(Buffer.from(imported.map()).readUInt32LE((4 << 20) - 4)).toBe(9);
    expect(await f.wait(0)).toBe(true);
  });

  test(covers('BO_WAIT', 'concurrency', 'several waiters on one buffer all return'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(8 << 20);
    using f = dev.submit({ commands: new CommandStream().fill(bo.va, 8 << 20, 1), buffers: [bo] });
    const results = await Promise.all(Array.from({ length: 4 }, () => bo.wait(WAIT_MS)));
    expect(results).toEqual(['success', 'success', 'success', 'success']);
    expect(await f.wait(0)).toBe(true);
  });

  test(covers('BO_WAIT', 'leak', 'waits leave nothing behind'), async () => {
    const before = liveObjects();
    {
      using dev = Device.open();
      using bo = dev.createBuffer(4096);
      for (let i = 0; i < 50; i++) expect(await bo.wait(0)).toBe('success');
    }
    expect(liveObjects()).toEqual(before);
  });
});
