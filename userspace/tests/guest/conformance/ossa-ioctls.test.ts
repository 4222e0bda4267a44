/**
 * Tier 2, ossa: every ioctl with good input and with each invalid field,
 * lifetimes of buffers and files, and leaks.
 */
import { closeSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { DRM_IOCTL_GEM_CLOSE, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, DrmGemClose } from '../../../src/drm.js';
import { encodeCommand } from '../../../src/commands.js';
import { CommandStream, Device, type Fence, SubmitError } from '../../../src/index.js';
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
  type ParamName,
} from '../../../src/uapi.js';
import { runChildren } from '../support/children.js';
import { driverStats, inject, liveObjects } from '../support/debugfs.js';
import { JOB_TIMEOUT_PARAM } from '../support/driver-module.js';
import { fenceTrace } from '../support/fence-trace.js';
import { BAD_POINTER, errnoOf, ossaNode, raw, syncobjWait, thrownBy, UNMAPPED_VA, WAIT_MS } from '../support/ossa.js';

afterEach(() => {
  inject('inject_delay_us', 0);
});

/** Parameters of the device, the same in every file (all but contextId). */
const DEVICE_PARAMS = (Object.keys(Param) as ParamName[]).filter((n) => n !== 'contextId');

describe('GET_PARAM', () => {
  test(covers('GET_PARAM', 'good', 'every parameter answers, per device or per file'), () => {
    using a = Device.open();
    using b = Device.open();
    for (const name of Object.keys(Param) as Array<keyof typeof Param>) expect(typeof a.param(name)).toBe('bigint');
    expect(a.param('contextId')).not.toBe(b.param('contextId'));
    for (const name of DEVICE_PARAMS) expect({ name, value: b.param(name) }).toEqual({ name, value: a.param(name) });
    // The limits are consistent with each other and with what BO_CREATE gives.
    const [vaStart, vaSize, maxBo, maxCmd] = (['vaStart', 'vaSize', 'maxBoSize', 'maxCmdSize'] as const).map((n) => a.param(n)) as [bigint, bigint, bigint, bigint];
    expect(a.param('numQueues')).toBeGreaterThanOrEqual(1n);
    expect({ vaStart: vaStart % 4096n, vaSize: vaSize % 4096n, maxBo: maxBo % 4096n, maxCmd: maxCmd % 8n }).toEqual({ vaStart: 0n, vaSize: 0n, maxBo: 0n, maxCmd: 0n });
    expect(vaStart).toBeGreaterThan(0n);
    expect(vaStart + vaSize).toBeLessThanOrEqual(1n << 64n);
    expect(maxBo).toBeGreaterThan(0n);
    expect(maxBo).toBeLessThanOrEqual(vaSize);
    expect(maxCmd).toBeGreaterThan(0n);
    expect(maxCmd).toBeLessThanOrEqual(maxBo);
    // The job timeout the schedulers use: the module's, in whole ticks.
    expect(a.param('jobTimeoutMs')).toBe(BigInt(readFileSync(JOB_TIMEOUT_PARAM, 'utf8').trim()));
    using bo = a.createBuffer(1 << 20);
    expect(bo.va).toBeGreaterThanOrEqual(vaStart);
    expect(bo.va + BigInt(bo.size)).toBeLessThanOrEqual(vaStart + vaSize);
  });

  test(covers('GET_PARAM', 'bad-input', 'unknown parameter, non-zero pad, bad pointer'), () => {
    using dev = Device.open();
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 9 }).code).toBe('EINVAL');
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 0xffff_ffff }).code).toBe('EINVAL');
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 0, pad: 1 }).code).toBe('EINVAL');
    expect(errnoOf(() => dev.ioctl('GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, null))).toBe('EFAULT');
  });

  test(covers('GET_PARAM', 'concurrency', '3 processes and this one open 16 files together: each its own context, the same device'), async () => {
    const names = JSON.stringify(DEVICE_PARAMS);
    // Each child opens 4 files and holds them; once all are released at
    // once, each asks every parameter of every file 50 times.
    const script = `
      const files = Array.from({ length: 4 }, () => lib.Device.open());
      const ask = (f) => JSON.stringify(Object.fromEntries(${names}.map((n) => [n, String(f.param(n))])));
      const contexts = files.map((f) => f.param('contextId'));
      report({ contexts, device: JSON.parse(ask(files[0])) });
      await released();
      let changed = 0;
      for (let i = 0; i < 50; i++) {
        for (const [k, f] of files.entries()) {
          if (f.param('contextId') !== contexts[k]) changed++;
          if (ask(f) !== ask(files[0])) changed++;
        }
      }
      for (const f of files) f.close();
      report({ changed });
    `;
    const files = Array.from({ length: 4 }, () => Device.open());
    try {
      const want = Object.fromEntries(DEVICE_PARAMS.map((n) => [n, String(files[0]!.param(n))]));
      const mine = files.map((f) => String(f.param('contextId')));
      // Meanwhile this process asks on the thread pool, 4 files at once.
      let asked: Promise<string[]> = Promise.resolve([]);
      const results = await runChildren(script, 3, {
        whileHeld: (first) => {
          const reports = first as Array<{ contexts: string[]; device: Record<string, string> }>;
          const all = [...mine, ...reports.flatMap((r) => r.contexts)];
          expect(new Set(all).size).toBe(16);
          for (const r of reports) expect(r.device).toEqual(want);
          asked = Promise.all(
            files.map(async (f) => {
              const p = Struct.from(DrmOssaGetParam, { param: Param.contextId });
              await f.ioctlAsync('GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, p.bytes);
              return String(p.big('value'));
            }),
          );
          asked.catch(() => {}); // awaited below
        },
      });
      expect(results).toEqual([{ changed: 0 }, { changed: 0 }, { changed: 0 }]);
      expect(await asked).toEqual(mine);
    } finally {
      for (const f of files) f.close();
    }
  });
});

describe('open', () => {
  test('each open file takes one of the 64 hardware contexts: the next open is EBUSY until a file closes', () => {
    const node = ossaNode();
    const files: Device[] = [];
    try {
      let code = 'ok';
      while (files.length < 256 && code === 'ok') code = errnoOf(() => files.push(Device.open(node)));
      expect(code, 'the open after the last free context').toBe('EBUSY');
      expect(driverStats().contexts, 'contexts in use (debugfs stats), the datasheet\'s 64').toBe(64);
      files.pop()?.close();
      expect(errnoOf(() => files.push(Device.open(node)))).toBe('ok');
      expect(errnoOf(() => Device.open(node).close())).toBe('EBUSY');
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
    const max = dev.param('maxBoSize');
    expect(create({ size: max + 1n })).toBe('EINVAL');
    expect(create({ size: max + 4096n })).toBe('EINVAL');
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

  test(covers('BO_CREATE', 'concurrency', 'many files create buffers at once (64 creates in flight); each sees only its own'), async () => {
    const files = Array.from({ length: 8 }, () => Device.open());
    try {
      // File i makes 8 buffers of i + 1 pages: all 64 creates are queued on
      // libuv's thread pool together.
      const created = await Promise.all(
        files.map((f, i) =>
          Promise.all(
            Array.from({ length: 8 }, async () => {
              const s = Struct.from(DrmOssaBoCreate, { size: 4096 * (i + 1) });
              await f.ioctlAsync('BO_CREATE', DRM_IOCTL_OSSA_BO_CREATE, s.bytes);
              return { handle: s.num('handle'), size: s.num('size'), va: s.big('va') };
            }),
          ),
        ),
      );
      const info = (f: Device, handle: number): { code: string; size: number; va: bigint } => {
        const s = Struct.from(DrmOssaBoInfo, { handle });
        const code = errnoOf(() => f.ioctl('BO_INFO', DRM_IOCTL_OSSA_BO_INFO, s.bytes));
        return { code, size: s.num('size'), va: s.big('va') };
      };
      for (const [i, own] of created.entries()) {
        const file = files[i] as Device;
        // Its own: distinct handles, the size asked, VAs that do not overlap.
        expect(new Set(own.map((b) => b.handle)).size).toBe(own.length);
        expect(own.map((b) => b.size)).toEqual(own.map(() => 4096 * (i + 1)));
        const ranges = own.map((b) => [b.va, b.va + BigInt(b.size)] as const).sort((x, y) => (x[0] < y[0] ? -1 : 1));
        for (let k = 1; k < ranges.length; k++) expect(ranges[k]![0]).toBeGreaterThanOrEqual(ranges[k - 1]![1]);
        for (const b of own) expect(info(file, b.handle)).toEqual({ code: 'ok', size: b.size, va: b.va });
        // The same handle number in the next file is that file's own buffer, or nothing.
        const j = (i + 1) % files.length;
        for (const b of own) {
          const theirs = created[j]!.find((x) => x.handle === b.handle);
          const got = info(files[j] as Device, b.handle);
          if (theirs) expect(got).toEqual({ code: 'ok', size: theirs.size, va: theirs.va });
          else expect(got.code).toBe('ENOENT');
        }
      }
      for (const [i, own] of created.entries()) {
        for (const b of own) expect(raw(files[i] as Device, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: b.handle }).code).toBe('ok');
      }
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
    const queues = Number(dev.param('numQueues'));
    const maxCmd = Number(dev.param('maxCmdSize'));
    const refs = [{ handle: cmd.handle, flags: 1 }];
    expect(submitRaw(dev, ok, refs)).toEqual({ code: 'ok', status: 0 });
    const cases: Array<[string, Parameters<typeof submitRaw>[1], Parameters<typeof submitRaw>[2], string]> = [
      ['flags', { ...ok, flags: 1 }, refs, 'EINVAL'],
      ['pad', { ...ok, pad: 1 }, refs, 'EINVAL'],
      ['queue', { ...ok, queue: queues }, refs, 'EINVAL'],
      ['queue huge', { ...ok, queue: 0xffff_ffff }, refs, 'EINVAL'],
      ['cmd_size 0', { ...ok, cmd_size: 0 }, refs, 'EINVAL'],
      ['cmd_size unaligned', { ...ok, cmd_size: 12 }, refs, 'EINVAL'],
      ['cmd_size above the maximum', { ...ok, cmd_size: maxCmd + 8 }, refs, 'EINVAL'],
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

  test(covers('SUBMIT', 'good', 'a batch on the first and last queues, ordered by implicit sync on a shared buffer'), async () => {
    using dev = Device.open();
    using a = dev.createBuffer(1 << 16);
    using b = dev.createBuffer(1 << 16);
    const last = Number(dev.param('numQueues')) - 1;
    const fences = dev.submitBatch([
      { queue: 0, commands: new CommandStream().fill(a.va, 1 << 16, 0x01020304), buffers: [a] },
      { queue: last, commands: new CommandStream().copy(a.va, b.va, 1 << 16), buffers: [{ buffer: a, access: 'read' }, b] },
    ]);
    expect(await fences[1]?.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(b.map()).readUInt32LE((1 << 16) - 4)).toBe(0x01020304);
    for (const f of fences) f.close();
  });

  test(covers('SUBMIT', 'good', 'a job\'s hardware fence names the driver and its queue in the dma_fence trace events'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    const last = Number(dev.param('numQueues')) - 1;
    const trace = await fenceTrace(async () => {
      using f = dev.submit({ queue: last, commands: new CommandStream().fill(bo.va, 4096, 7), buffers: [bo] });
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    });
    const init = new RegExp(`dma_fence_init: driver=ossa timeline=ossa-q${last} context=(\\d+) seqno=(\\d+)`).exec(trace);
    expect(init, `an ossa fence on queue ${last} in:\n${trace}`).not.toBeNull();
    const [, context, seqno] = init ?? [];
    expect(trace).toContain(`dma_fence_signaled: driver=ossa timeline=ossa-q${last} context=${context} seqno=${seqno}`);
  });

  test(covers('SUBMIT', 'bad-input', 'one bad job in a batch: nothing runs, statuses say which'), async () => {
    using dev = Device.open();
    using a = dev.createBuffer(4096);
    const err = thrownBy(() =>
      dev.submitBatch([
        { commands: new CommandStream().fill(a.va, 4096, 7), buffers: [a] },
        { queue: Number(dev.param('numQueues')), commands: new CommandStream().nop(), buffers: [a] },
        { commands: new CommandStream().fill(a.va, 4096, 8), buffers: [a] },
      ]),
    );
    expect(err, 'a batch with a bad job was queued').toBeInstanceOf(SubmitError);
    expect({ code: (err as SubmitError).code, statuses: (err as SubmitError).statuses }).toEqual({ code: 'EINVAL', statuses: [-125, -22, -125] });
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

  test(covers(['SUBMIT', 'SYNCOBJ_WAIT'], 'bad-input', 'waiting for a syncobj that has no fence yet is EINVAL'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using empty = dev.createSyncobj();
    // A job's in-syncobj, and DRM_IOCTL_SYNCOBJ_WAIT without WAIT_FOR_SUBMIT.
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo], waitFor: [empty] }))).toBe('EINVAL');
    expect(await syncobjWait(dev, [empty.handle], WAIT_MS)).toBe('EINVAL');
  });

  test(covers(['SUBMIT', 'SYNCOBJ_WAIT', 'SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY'], 'leak', '100 jobs leave no job, buffer or context behind'), async () => {
    const before = liveObjects();
    {
      using dev = Device.open();
      using bo = dev.createBuffer(4096);
      const queues = Number(dev.param('numQueues'));
      // Every 10 jobs, one DRM_IOCTL_SYNCOBJ_WAIT (WAIT_ALL) on their 10 out-syncobjs.
      let batch: Fence[] = [];
      for (let i = 0; i < 100; i++) {
        batch.push(dev.submit({ queue: i % queues, commands: new CommandStream().fill(bo.va, 64, i), buffers: [bo] }));
        if (i % 10 !== 9) continue;
        expect(await syncobjWait(dev, batch.map((f) => f.handle), WAIT_MS, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL)).toBe('ok');
        for (const f of batch) expect(await f.settle(0)).toEqual({ state: 'signaled' });
        for (const f of batch) f.close();
        batch = [];
      }
      expect(await bo.wait(WAIT_MS)).toBe('success');
      expect(Buffer.from(bo.map()).readUInt32LE(0)).toBe(99);
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

  test(covers(['BO_WAIT', 'SUBMIT'], 'fault', 'job_status names how the last writer ended: an invalid command; canceled when its context faulted while it waited'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using bad = dev.submit({ commands: encodeCommand(0xff, 0, []), buffers: [bo] });
    expect(await bad.settle(WAIT_MS)).toEqual({ state: 'error', errno: 22 });
    expect(await bo.wait(WAIT_MS)).toBe('invalid');

    // One batch: a slow job that ends in an MMU fault and, on the other
    // queue, a job that waits for it by implicit sync (it reads what the
    // first writes). When the waiter's turn comes its context is banned,
    // so it is canceled without running.
    using big = dev.createBuffer(4 << 20);
    using target = dev.createBuffer(4096);
    const last = Number(dev.param('numQueues')) - 1;
    inject('inject_delay_us', 50_000);
    const [faulting, waiter] = dev.submitBatch([
      { queue: 0, commands: new CommandStream().fill(big.va, 4 << 20, 1).fill(UNMAPPED_VA, 4096, 2), buffers: [big] },
      { queue: last, commands: new CommandStream().fill(target.va, 4096, 3), buffers: [{ buffer: big, access: 'read' }, { buffer: target, access: 'write' }] },
    ]);
    if (!faulting || !waiter) throw new Error('submitBatch returned fewer fences than jobs');
    using _f = faulting;
    using _w = waiter;
    expect(await faulting.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
    expect(await waiter.settle(WAIT_MS)).toEqual({ state: 'error', errno: 125 });
    expect(await target.wait(WAIT_MS)).toBe('canceled');
    expect(new Uint32Array(target.map().buffer, 0, 1)[0], 'the canceled job wrote nothing').toBe(0);
  });

  test(covers(['BO_WAIT', 'SUBMIT'], 'fault', 'job_status follows the WRITE reference, not what the job did: a failed job leaves a buffer it only read at success and marks one it held for writing, unwritten'), async () => {
    using dev = Device.open();
    using read = dev.createBuffer(4096);
    using declared = dev.createBuffer(4096);
    using f = dev.submit({ commands: encodeCommand(0xff, 0, []), buffers: [{ buffer: read, access: 'read' }, { buffer: declared, access: 'write' }] });
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'error', errno: 22 });
    expect(await read.wait(WAIT_MS)).toBe('success');
    expect(await declared.wait(WAIT_MS)).toBe('invalid');
    expect(new Uint32Array(declared.map().buffer, 0, 1)[0], 'the job wrote nothing').toBe(0);
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
