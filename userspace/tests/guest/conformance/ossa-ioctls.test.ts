/**
 * Tier 2, ossa: every ioctl with good input and with each invalid field,
 * lifetimes of buffers and files, and leaks.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { DRM_IOCTL_GEM_CLOSE, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, DrmGemClose } from '../../../src/drm.js';
import { encodeCommand } from '../../../src/commands.js';
import { iow } from '../../../src/ioctl.js';
import { CommandStream, Device, type Fence, SubmitError, type Syncobj } from '../../../src/index.js';
import { native } from '../../../src/native.js';
import { Struct, type StructDef } from '../../../src/struct.js';
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
  DrmOssaSync,
  OSSA_CONSTANTS as C,
  Param,
  type ParamName,
} from '../../../src/uapi.js';
import { runChildren } from '../support/children.js';
import { clientId, contextsByClient, driverStats, inject, liveObjects } from '../support/debugfs.js';
import { JOB_TIMEOUT_PARAM } from '../support/driver-module.js';
import { fenceTrace } from '../support/fence-trace.js';
import { BAD_POINTER, badPointerIoctl, errnoOf, errnoOfAsync, ossaNode, raw, syncobjWait, thrownBy, UNMAPPED_VA, WAIT_MS } from '../support/ossa.js';
import { runTool } from '../support/tool.js';

afterEach(() => {
  inject('inject_delay_us', 0);
});

const PARAMS = Object.keys(Param) as ParamName[];

describe('GET_PARAM', () => {
  test(covers('GET_PARAM', 'good', 'every parameter answers, the same in every file'), () => {
    using a = Device.open();
    using b = Device.open();
    for (const name of PARAMS) expect({ name, value: b.param(name) }).toEqual({ name, value: a.param(name) });
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

  test(covers('GET_PARAM', 'bad-input', 'unknown parameter (the first past the last, and the removed CONTEXT_ID and FAULT_INJECTION numbers of uapi 1), non-zero pad, bad pointer'), async () => {
    using dev = Device.open();
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: PARAMS.length }).code).toBe('EINVAL');
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 7 }).code).toBe('EINVAL');
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 0xffff_ffff }).code).toBe('EINVAL');
    expect(raw(dev, 'GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, { param: 0, pad: 1 }).code).toBe('EINVAL');
    // The library refuses a missing argument itself; from C, the kernel says EFAULT.
    expect(errnoOf(() => dev.ioctl('GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, null))).toBe('EINVAL');
    expect(await badPointerIoctl(DRM_IOCTL_OSSA_GET_PARAM)).toBe('EFAULT');
    expect(await badPointerIoctl(DRM_IOCTL_OSSA_GET_PARAM, BAD_POINTER)).toBe('EFAULT');
  });

  test(covers('GET_PARAM', 'concurrency', '3 processes and this one open 16 files together: each its own context, the same device'), async () => {
    const names = JSON.stringify(PARAMS);
    // Each child opens 4 files and holds them; once all are released at
    // once, each asks every parameter of every file 50 times.
    const script = `
      const { readFileSync } = await import('node:fs');
      const files = Array.from({ length: 4 }, () => lib.Device.open());
      const ask = (f) => JSON.stringify(Object.fromEntries(${names}.map((n) => [n, String(f.param(n))])));
      const clients = files.map((f) => /drm-client-id:\\s*(\\d+)/.exec(readFileSync('/proc/self/fdinfo/' + f.fd, 'utf8'))[1]);
      report({ clients, device: JSON.parse(ask(files[0])) });
      await released();
      let changed = 0;
      for (let i = 0; i < 50; i++) {
        for (const f of files) if (ask(f) !== ask(files[0])) changed++;
      }
      for (const f of files) f.close();
      report({ changed });
    `;
    const files = Array.from({ length: 4 }, () => Device.open());
    try {
      const want = Object.fromEntries(PARAMS.map((n) => [n, String(files[0]!.param(n))]));
      // Meanwhile this process asks on the thread pool, 4 files at once.
      let asked: Promise<string[]> = Promise.resolve([]);
      const results = await runChildren(script, 3, {
        whileHeld: (first) => {
          const reports = first as Array<{ clients: string[]; device: Record<string, string> }>;
          // Each of the 16 files, by its DRM client id, has a context of its own (debugfs).
          const byClient = contextsByClient();
          const clients = [...files.map((f) => clientId(f)), ...reports.flatMap((r) => r.clients.map(Number))];
          expect(new Set(clients).size, 'distinct DRM clients').toBe(16);
          for (const c of clients) expect(byClient.has(c), `client ${c} in debugfs contexts`).toBe(true);
          expect(new Set(clients.map((c) => byClient.get(c))).size, 'distinct contexts').toBe(16);
          for (const r of reports) expect(r.device).toEqual(want);
          asked = Promise.all(
            files.map(async (f) => {
              const p = Struct.from(DrmOssaGetParam, { param: Param.jobTimeoutMs });
              await f.ioctlAsync('GET_PARAM', DRM_IOCTL_OSSA_GET_PARAM, p.bytes);
              return String(p.big('value'));
            }),
          );
          asked.catch(() => {}); // awaited below
        },
      });
      expect(results).toEqual([{ changed: 0 }, { changed: 0 }, { changed: 0 }]);
      expect(await asked).toEqual(files.map(() => want.jobTimeoutMs));
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
  test(covers('BO_CREATE', 'good', 'fdinfo names the driver and the file\'s DRM client, and counts its buffers in drm-total-memory'), () => {
    using a = Device.open();
    using b = Device.open();
    const fdinfo = (dev: Device): Map<string, string> =>
      new Map(
        readFileSync(`/proc/self/fdinfo/${dev.fd}`, 'utf8')
          .split('\n')
          .map((l) => /^(drm-[a-z-]+):\s*(.*)$/.exec(l))
          .filter((m) => m !== null)
          .map((m) => [m[1] as string, m[2] as string]),
      );
    const before = fdinfo(a);
    expect(before.get('drm-driver')).toBe('ossa');
    expect(before.get('drm-client-id')).toMatch(/^\d+$/);
    expect(fdinfo(b).get('drm-client-id')).not.toBe(before.get('drm-client-id'));
    // drm_show_memory_stats() prints sizes as "<n> <unit>", with a unit of KiB or MiB.
    const bytes = (v: string | undefined): number => {
      const m = /^(\d+)(?: (KiB|MiB|GiB))?$/.exec(v ?? '');
      if (!m) throw new Error(`drm-total-memory: ${v}`);
      return Number(m[1]) * ({ KiB: 1024, MiB: 1 << 20, GiB: 1 << 30 }[m[2] ?? ''] ?? 1);
    };
    const total = bytes(before.get('drm-total-memory'));
    const other = bytes(fdinfo(b).get('drm-total-memory'));
    using bo = a.createBuffer(3 << 20);
    expect(bytes(fdinfo(a).get('drm-total-memory')) - total).toBe(3 << 20);
    expect(bytes(fdinfo(b).get('drm-total-memory')), 'another file\'s memory').toBe(other);
  });

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

  test(covers('BO_CREATE', 'bad-input', 'size 0, above the maximum, overflowing; unknown flags; bad pointer'), async () => {
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
    expect(errnoOf(() => dev.ioctl('BO_CREATE', DRM_IOCTL_OSSA_BO_CREATE, null))).toBe('EINVAL');
    expect(await badPointerIoctl(DRM_IOCTL_OSSA_BO_CREATE)).toBe('EFAULT');
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

type Fields<F extends string> = Partial<Record<F, number | bigint>>;

/**
 * The elements of a struct drm_ossa_obj_array, `stride` bytes apart (by
 * default the struct's size); `tail` is written into the first byte past
 * each struct, when the stride leaves room for it.
 */
function objArray<F extends string>(def: StructDef<F>, items: ReadonlyArray<Fields<F>>, stride = def.size, tail = 0): { buf: Buffer; count: number; stride: number } {
  const buf = Buffer.alloc(Math.max(1, items.length) * Math.max(stride, def.size));
  items.forEach((item, i) => {
    const at = i * stride;
    Struct.from(def, item).bytes.copy(buf, at, 0, Math.min(def.size, buf.length - at));
    if (stride > def.size) buf[at + def.size] = tail;
  });
  return { buf, count: items.length, stride };
}

/** How a raw submission lays out its arrays. */
interface Layout {
  syncs?: ReadonlyArray<Fields<keyof typeof DrmOssaSync.fields>>;
  jobStride?: number;
  jobTail?: number;
  boStride?: number;
  boTail?: number;
  syncStride?: number;
  syncTail?: number;
}

/** A submission of one job built field by field, so that each can be made wrong. */
function submitRaw(
  dev: Device,
  job: Fields<keyof typeof DrmOssaJob.fields>,
  refs: ReadonlyArray<{ handle: number; flags: number }>,
  submit: Fields<keyof typeof DrmOssaSubmit.fields> = {},
  layout: Layout = {},
): { code: string; status: number } {
  const bos = objArray(DrmOssaBoRef, refs, layout.boStride, layout.boTail);
  const syncs = objArray(DrmOssaSync, layout.syncs ?? [], layout.syncStride, layout.syncTail);
  const fields = {
    'bos.array': native().address(bos.buf),
    'bos.count': bos.count,
    'bos.stride': bos.stride,
    'syncs.array': native().address(syncs.buf),
    'syncs.count': syncs.count,
    'syncs.stride': syncs.stride,
    ...job,
  };
  const jobs = objArray(DrmOssaJob, [fields], layout.jobStride, layout.jobTail);
  const s = Struct.from(DrmOssaSubmit, { 'jobs.array': native().address(jobs.buf), 'jobs.count': 1, 'jobs.stride': jobs.stride, ...submit });
  const code = errnoOf(() => dev.ioctl('SUBMIT', DRM_IOCTL_OSSA_SUBMIT, s.bytes));
  return { code, status: jobs.buf.readInt32LE(DrmOssaJob.fields.status.offset) };
}

const STATUS_OF: Record<string, number> = { ok: 0, EINVAL: -22, ENOENT: -2, EFAULT: -14, E2BIG: -7 };

describe('SUBMIT', () => {
  test(covers('SUBMIT', 'bad-input', 'each invalid field of a job is refused with its errno in the job status'), () => {
    using dev = Device.open();
    using cmd = dev.createBuffer(4096, { deviceReadOnly: true });
    cmd.map().set(new CommandStream().nop().toBuffer());
    using done = dev.createSyncobj({ signaled: true });
    const ok = { cmd_va: cmd.va, cmd_size: 8, queue: 0 };
    const queues = Number(dev.param('numQueues'));
    const maxCmd = Number(dev.param('maxCmdSize'));
    const refs = [{ handle: cmd.handle, flags: C.DRM_OSSA_BO_REF_READ }];
    const wait = { handle: done.handle, flags: C.DRM_OSSA_SYNC_WAIT };
    const signal = { handle: done.handle, flags: C.DRM_OSSA_SYNC_SIGNAL };
    expect(submitRaw(dev, ok, refs)).toEqual({ code: 'ok', status: 0 });
    expect(submitRaw(dev, ok, refs, {}, { syncs: [wait, signal] })).toEqual({ code: 'ok', status: 0 });
    const cases: Array<[string, Parameters<typeof submitRaw>[1], Parameters<typeof submitRaw>[2], Layout, string]> = [
      ['flags', { ...ok, flags: 1 }, refs, {}, 'EINVAL'],
      ['queue', { ...ok, queue: queues }, refs, {}, 'EINVAL'],
      ['queue huge', { ...ok, queue: 0xffff_ffff }, refs, {}, 'EINVAL'],
      ['cmd_size 0', { ...ok, cmd_size: 0 }, refs, {}, 'EINVAL'],
      ['cmd_size unaligned', { ...ok, cmd_size: 12 }, refs, {}, 'EINVAL'],
      ['cmd_size above the maximum', { ...ok, cmd_size: maxCmd + 8 }, refs, {}, 'EINVAL'],
      ['cmd_va unaligned', { ...ok, cmd_va: cmd.va + 4n }, refs, {}, 'EINVAL'],
      ['stream outside the BOs', { ...ok, cmd_va: cmd.va + 4096n }, refs, {}, 'EINVAL'],
      ['stream overflowing', { ...ok, cmd_va: 0xffff_ffff_ffff_fff8n }, refs, {}, 'EINVAL'],
      ['no BOs', ok, [], {}, 'EINVAL'],
      ['257 BOs (unknown ones: the count is refused first)', ok, Array.from({ length: 257 }, () => ({ handle: 0x7fff_fff0, flags: 1 })), {}, 'EINVAL'],
      ['unknown BO', ok, [{ handle: 0x7fff_fff0, flags: 1 }], {}, 'ENOENT'],
      ['BO ref flags 0', ok, [{ handle: cmd.handle, flags: 0 }], {}, 'EINVAL'],
      ['BO ref flags unknown', ok, [{ handle: cmd.handle, flags: 4 }], {}, 'EINVAL'],
      ['WRITE to a device-read-only BO', ok, [{ handle: cmd.handle, flags: C.DRM_OSSA_BO_REF_WRITE }], {}, 'EINVAL'],
      ['same BO twice', ok, [...refs, ...refs], {}, 'EINVAL'],
      ['bad BO pointer', { ...ok, 'bos.array': BAD_POINTER }, refs, {}, 'EFAULT'],
      ['a BO array that wraps around the address space', { ...ok, 'bos.array': 0xffff_ffff_ffff_fff8n }, refs, {}, 'EFAULT'],
      ['BO stride below the struct', ok, refs, { boStride: DrmOssaBoRef.size - 4 }, 'EINVAL'],
      ['BO stride not a multiple of 8', ok, refs, { boStride: DrmOssaBoRef.size + 4 }, 'EINVAL'],
      ['BO stride with a non-zero tail', ok, refs, { boStride: DrmOssaBoRef.size + 8, boTail: 1 }, 'E2BIG'],
      ['BO stride above a page', ok, refs, { boStride: 4104 }, 'E2BIG'],
      ['65 syncs', ok, refs, { syncs: Array.from({ length: 65 }, () => wait) }, 'EINVAL'],
      ['bad sync pointer', { ...ok, 'syncs.count': 1, 'syncs.array': BAD_POINTER }, refs, {}, 'EFAULT'],
      ['sync flags 0', ok, refs, { syncs: [{ handle: done.handle }] }, 'EINVAL'],
      ['sync flags WAIT and SIGNAL', ok, refs, { syncs: [{ handle: done.handle, flags: 3 }] }, 'EINVAL'],
      ['sync flags unknown', ok, refs, { syncs: [{ handle: done.handle, flags: 4 }] }, 'EINVAL'],
      ['unknown syncobj to wait for', ok, refs, { syncs: [{ ...wait, handle: 0x7fff_fff0 }] }, 'ENOENT'],
      ['unknown syncobj to signal', ok, refs, { syncs: [{ ...signal, handle: 0x7fff_fff0 }] }, 'ENOENT'],
      ['a point on a binary syncobj', ok, refs, { syncs: [{ ...wait, point: 5n }] }, 'EINVAL'],
      ['a point of 2^32 on a binary syncobj (its low 32 bits 0)', ok, refs, { syncs: [{ ...wait, point: 1n << 32n }] }, 'EINVAL'],
      ['sync stride below the struct', ok, refs, { syncs: [wait], syncStride: DrmOssaSync.size - 8 }, 'EINVAL'],
      ['sync stride with a non-zero tail', ok, refs, { syncs: [wait], syncStride: DrmOssaSync.size + 8, syncTail: 0x80 }, 'E2BIG'],
    ];
    for (const [what, job, r, layout, want] of cases) {
      expect({ what, ...submitRaw(dev, job, r, {}, layout) }).toEqual({ what, code: want, status: STATUS_OF[want] });
    }
  });

  test(covers('SUBMIT', 'bad-input', 'the submission itself: job count 0 or above 64, short or overlong stride, a non-zero tail, flags, pad, bad pointer'), () => {
    using dev = Device.open();
    using cmd = dev.createBuffer(4096);
    const ok = { cmd_va: cmd.va, cmd_size: 8 };
    const refs = [{ handle: cmd.handle, flags: 1 }];
    expect(submitRaw(dev, ok, refs, { 'jobs.count': 0 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { 'jobs.count': 65 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { 'jobs.stride': DrmOssaJob.size - 8 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { 'jobs.stride': DrmOssaJob.size + 4 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, {}, { jobStride: DrmOssaJob.size + 8, jobTail: 1 })).toEqual({ code: 'E2BIG', status: -7 });
    expect(submitRaw(dev, ok, refs, { 'jobs.stride': 4104 }).code).toBe('E2BIG');
    expect(submitRaw(dev, ok, refs, { flags: 1 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { pad: 1 }).code).toBe('EINVAL');
    expect(submitRaw(dev, ok, refs, { 'jobs.array': BAD_POINTER }).code).toBe('EFAULT');
  });

  test(covers('SUBMIT', 'bad-input', 'a job array the kernel can read but not write: EFAULT when the status is written back, and the good job is not queued (tools/submit-unwritable)'), async () => {
    const { stdout } = await runTool('/ossa/tools/submit-unwritable', [ossaNode()]);
    expect(stdout.trim()).toBe(`result EFAULT status ${0x5eed} word 0`);
  });

  test(covers('SUBMIT', 'good', 'a newer userspace\'s longer structs, zero beyond what the kernel knows, are accepted: jobs, BO refs and syncs'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    const cmds = new CommandStream().fill(bo.va + 64n, 64, 0x5a).toBuffer();
    bo.map().set(cmds);
    using out = dev.createSyncobj();
    const r = submitRaw(dev, { cmd_va: bo.va, cmd_size: cmds.length }, [{ handle: bo.handle, flags: 3 }], {}, {
      syncs: [{ handle: out.handle, flags: C.DRM_OSSA_SYNC_SIGNAL }],
      jobStride: DrmOssaJob.size + 16,
      boStride: DrmOssaBoRef.size + 8,
      syncStride: DrmOssaSync.size + 24,
    });
    expect(r).toEqual({ code: 'ok', status: 0 });
    expect(await out.wait(WAIT_MS)).toBe(true);
    expect(Buffer.from(bo.map()).readUInt32LE(64)).toBe(0x5a);
  });

  test(covers('SUBMIT', 'good', 'timeline syncobjs: a job waits for a point and signals the next; the points signal in order'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 16);
    using timeline = dev.createSyncobj();
    const last = Number(dev.param('numQueues')) - 1;
    // On two queues: only the timeline orders them (the buffers differ).
    using other = dev.createBuffer(4096);
    using first = dev.submit({ queue: 0, commands: new CommandStream().fill(bo.va, 1 << 16, 1), buffers: [bo], signal: { syncobj: timeline, point: 1n } });
    using second = dev.submit({
      queue: last,
      commands: new CommandStream().fill(other.va, 64, 2),
      buffers: [other],
      waitFor: [{ syncobj: timeline, point: 1n }],
      signal: { syncobj: timeline, point: 2n },
    });
    expect(await timeline.waitPoint(2n, WAIT_MS)).toBe(true);
    expect(timeline.signaledPoint()).toBe(2n);
    expect(await first.settle(0)).toEqual({ state: 'signaled' });
    expect(await second.settle(0)).toEqual({ state: 'signaled' });
    // A point no job added yet: EINVAL, as SYNCOBJ_TIMELINE_WAIT without WAIT_FOR_SUBMIT says.
    expect(await errnoOfAsync(() => timeline.waitPoint(3n, 0))).toBe('EINVAL');
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [other], waitFor: [{ syncobj: timeline, point: 3n }] }))).toBe('EINVAL');
    // Points are 64 bits: 2^32 + 1 is not point 1.
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [other], waitFor: [{ syncobj: timeline, point: (1n << 32n) + 1n }] }))).toBe('EINVAL');
  });

  test(covers('SUBMIT', 'good', 'a job whose dependency failed still runs (the error is not carried on): check the fence first'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using bad = dev.submit({ commands: new CommandStream().fill(UNMAPPED_VA, 64, 1), buffers: [bo] });
    expect(await bad.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
    // The faulting file is banned; the dependent job comes from another.
    using other = Device.open();
    const fd = bad.exportFd();
    using t = other.importSyncobj(fd);
    native().close(fd);
    using out = other.createBuffer(4096);
    using next = other.submit({ commands: new CommandStream().fill(out.va, 64, 9), buffers: [out], waitFor: [t] });
    expect(await next.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(out.map()).readUInt32LE(0)).toBe(9);
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
    // Two bad jobs: each status names its own error; the ioctl the first one's.
    using ro = dev.createBuffer(4096, { deviceReadOnly: true });
    const two = thrownBy(() =>
      dev.submitBatch([
        { commands: new CommandStream().fill(a.va, 4096, 7), buffers: [a] },
        { commands: new CommandStream().nop(), buffers: [{ buffer: ro, access: 'write' }] },
        { queue: Number(dev.param('numQueues')), commands: new CommandStream().nop(), buffers: [a] },
      ]),
    );
    expect(two, 'a batch with two bad jobs was queued').toBeInstanceOf(SubmitError);
    expect({ code: (two as SubmitError).code, statuses: (two as SubmitError).statuses }).toEqual({ code: 'EINVAL', statuses: [-125, -22, -22] });
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.from(a.map()).readUInt32LE(0)).toBe(0);
  });

  test(covers(['SUBMIT', 'FILL'], 'good', 'a job reaches a buffer of its file that it does not list (the docs say: list every buffer a job uses, for ordering and lifetime)'), async () => {
    using dev = Device.open();
    using listed = dev.createBuffer(4096);
    using unlisted = dev.createBuffer(4096);
    using f = dev.submit({ commands: new CommandStream().fill(unlisted.va, 64, 0x77), buffers: [listed] });
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(Buffer.from(unlisted.map()).readUInt32LE(0)).toBe(0x77);
  });

  test(covers(['SUBMIT', 'PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE'], 'fault', 'after a fault bans a file: SUBMIT is ECANCELED, its buffers still map, wait and export; exported into a new file they run jobs again'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    bo.map().fill(0x11);
    using bad = dev.submit({ commands: new CommandStream().fill(UNMAPPED_VA, 64, 1), buffers: [bo] });
    expect(await bad.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo] }))).toBe('ECANCELED');
    expect(await bo.wait(WAIT_MS)).toBe('mmu-fault');
    using fresh = dev.createBuffer(4096);
    expect(fresh.map()[0]).toBe(0);
    const fd = dev.exportBuffer(bo);
    using next = Device.open();
    using carried = next.importBuffer(fd);
    native().close(fd);
    expect(carried.map()[0]).toBe(0x11);
    using f = next.submit({ commands: new CommandStream().fill(carried.va, 64, 0x22), buffers: [carried] });
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    expect(bo.map()[0], 'the banned file sees the new file\'s job through the shared pages').toBe(0x22);
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
      // Every other job signals a syncobj of its own, created and destroyed
      // here (the library's own Fences reuse theirs).
      let own: Syncobj[] = [];
      for (let i = 0; i < 100; i++) {
        const signal = i % 2 ? dev.createSyncobj() : undefined;
        if (signal) own.push(signal);
        batch.push(dev.submit({ queue: i % queues, commands: new CommandStream().fill(bo.va, 64, i), buffers: [bo], ...(signal ? { signal } : {}) }));
        if (i % 10 !== 9) continue;
        expect(await syncobjWait(dev, batch.map((f) => f.handle), WAIT_MS, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL)).toBe('ok');
        for (const f of batch) expect(await f.settle(0)).toEqual({ state: 'signaled' });
        for (const f of batch) f.close();
        for (const s of own) s.close();
        batch = [];
        own = [];
      }
      expect(await bo.wait(WAIT_MS)).toBe('success');
      expect(Buffer.from(bo.map()).readUInt32LE(0)).toBe(99);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(liveObjects()).toEqual(before);
  });
});

/** <linux/dma-buf.h>: DMA_BUF_IOCTL_SYNC and its flags. */
const DMA_BUF_IOCTL_SYNC = iow('b'.charCodeAt(0), 0, 8);
const DMA_BUF_SYNC_READ = 1n;
const DMA_BUF_SYNC_END = 4n;

describe('PRIME and syncobjs with jobs', () => {
  test(covers(['PRIME_HANDLE_TO_FD', 'SUBMIT'], 'good', 'CPU access through an exported dma-buf: DMA_BUF_IOCTL_SYNC START waits for the job that writes the buffer; no cache maintenance is needed'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4 << 20);
    const fd = dev.exportBuffer(bo);
    try {
      inject('inject_delay_us', 20_000);
      using f = dev.submit({ commands: new CommandStream().fill(bo.va, 4 << 20, 0x5a5a5a5a), buffers: [bo] });
      const sync = (flags: bigint): string => {
        const arg = Buffer.alloc(8);
        arg.writeBigUInt64LE(flags);
        return errnoOf(() => native().ioctl(fd, DMA_BUF_IOCTL_SYNC, arg));
      };
      // START (flags without END) waits for the fences of the buffer's writers.
      expect(sync(DMA_BUF_SYNC_READ)).toBe('ok');
      expect(await f.settle(0), 'the job is done when SYNC START returns').toEqual({ state: 'signaled' });
      expect(Buffer.from(bo.map()).readUInt32LE((4 << 20) - 4)).toBe(0x5a5a5a5a);
      expect(sync(DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END)).toBe('ok');
    } finally {
      inject('inject_delay_us', 0);
      native().close(fd);
    }
  });

  test(covers(['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE', 'GEM_CLOSE'], 'leak', '100 export/import round trips between files leave no buffer behind'), () => {
    const before = liveObjects();
    {
      using a = Device.open();
      using b = Device.open();
      for (let i = 0; i < 100; i++) {
        using bo = a.createBuffer(4096);
        const fd = a.exportBuffer(bo);
        using imp = b.importBuffer(fd);
        native().close(fd);
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

  test(covers('BO_WAIT', 'bad-input', 'unknown handle, flags, pad; any timeout is a time: a negative one has passed'), () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    expect(wait(dev, { handle: 0x7fff_fff0 })).toBe('ENOENT');
    expect(wait(dev, { handle: bo.handle, flags: 1 })).toBe('EINVAL');
    expect(wait(dev, { handle: bo.handle, pad: 1 })).toBe('EINVAL');
    expect(wait(dev, { handle: bo.handle, timeout_ns: -1n })).toBe('ok');
    expect(wait(dev, { handle: bo.handle, timeout_ns: 0x7fff_ffff_ffff_ffffn })).toBe('ok');
  });

  test(covers('BO_WAIT', 'good', 'the timeout is an absolute CLOCK_MONOTONIC time: one past, or 0, polls; a busy buffer\'s wait ends no earlier than the time given'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4 << 20);
    inject('inject_delay_us', 300_000);
    using f = dev.submit({ commands: new CommandStream().fill(bo.va, 4 << 20, 1), buffers: [bo] });
    expect(wait(dev, { handle: bo.handle, timeout_ns: 0n })).toBe('ETIMEDOUT');
    expect(wait(dev, { handle: bo.handle, timeout_ns: process.hrtime.bigint() - 1_000_000n })).toBe('ETIMEDOUT');
    const deadline = process.hrtime.bigint() + 100_000_000n;
    const code = wait(dev, { handle: bo.handle, timeout_ns: deadline });
    const ended = process.hrtime.bigint();
    if (code === 'ETIMEDOUT') expect(ended, 'ended at or after its deadline').toBeGreaterThanOrEqual(deadline);
    else expect(await f.settle(0), 'returned before the deadline only because the job was done').toEqual({ state: 'signaled' });
    inject('inject_delay_us', 0);
    expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  });

  test(covers(['BO_WAIT', 'PRIME_FD_TO_HANDLE'], 'lifetime', 'a wait through an imported handle sees the exporter\'s job'), async () => {
    using a = Device.open();
    using b = Device.open();
    using bo = a.createBuffer(4 << 20);
    const fd = a.exportBuffer(bo);
    using imported = b.importBuffer(fd);
    native().close(fd);
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
