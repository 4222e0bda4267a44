/**
 * Tier 2, ossa: timeline syncobjs (DRIVER_SYNCOBJ_TIMELINE), whose points
 * jobs wait for and signal through drm_ossa_sync: the core's timeline
 * ioctls (TIMELINE_WAIT, QUERY, TRANSFER, TIMELINE_SIGNAL) on the points
 * jobs add, with good and bad input, across files, under concurrent
 * waiters, and for a job that faults.
 */
import { describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import {
  DRM_IOCTL_SYNCOBJ_QUERY,
  DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
  DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
  DRM_IOCTL_SYNCOBJ_TRANSFER,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DrmSyncobjTimelineArray,
  DrmSyncobjTimelineWait,
  DrmSyncobjTransfer,
} from '../../../src/drm.js';
import { CommandStream, Device } from '../../../src/index.js';
import { native } from '../../../src/native.js';
import { inject } from '../support/debugfs.js';
import { BAD_POINTER, errnoOf, errnoOfAsync, raw, u32Array, UNMAPPED_VA, WAIT_MS } from '../support/ossa.js';

/** Point values for pointer fields. */
function u64Array(values: readonly bigint[]): { buf: BigUint64Array; addr: bigint } {
  const buf = new BigUint64Array(Math.max(1, values.length));
  values.forEach((v, i) => {
    buf[i] = v;
  });
  return { buf, addr: native().address(buf) };
}

describe('timeline syncobjs', () => {
  test(covers(['SUBMIT', 'SYNCOBJ_TIMELINE_WAIT', 'SYNCOBJ_QUERY', 'SYNCOBJ_TIMELINE_SIGNAL', 'SYNCOBJ_TRANSFER'], 'good', 'jobs on both queues add points 1 to 3; the CPU adds 4; a point moves into a binary syncobj and onto another timeline'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 16);
    using timeline = dev.createSyncobj();
    const queues = Number(dev.param('numQueues'));
    const fences = [1n, 2n, 3n].map((point) =>
      dev.submit({
        queue: Number(point) % queues,
        commands: new CommandStream().fill(bo.va, 1 << 16, Number(point)),
        buffers: [bo],
        ...(point > 1n ? { waitFor: [{ syncobj: timeline, point: point - 1n }] } : {}),
        signal: { syncobj: timeline, point },
      }),
    );
    try {
      expect(await timeline.waitPoint(3n, WAIT_MS)).toBe(true);
      expect(timeline.signaledPoint()).toBe(3n);
      // Ordered by the timeline: the last job's fill is what the buffer holds.
      expect(Buffer.from(bo.map()).readUInt32LE(0)).toBe(3);
      timeline.signalPoint(4n);
      expect(timeline.signaledPoint()).toBe(4n);
      using binary = dev.createSyncobj();
      timeline.transferTo(binary, 0n, 2n);
      expect(await binary.wait(0)).toBe(true);
      using other = dev.createSyncobj();
      binary.transferTo(other, 7n);
      expect(await other.waitPoint(7n, 0)).toBe(true);
      expect(other.signaledPoint()).toBe(7n);
    } finally {
      for (const f of fences) f.close();
    }
  });

  test(covers(['SYNCOBJ_TIMELINE_WAIT', 'SYNCOBJ_QUERY', 'SYNCOBJ_TIMELINE_SIGNAL', 'SYNCOBJ_TRANSFER'], 'bad-input', 'unknown handles, unknown flags, non-zero pad, no handles, bad pointers, a point no one added'), async () => {
    using dev = Device.open();
    using timeline = dev.createSyncobj();
    timeline.signalPoint(1n);
    const one = u32Array([timeline.handle]);
    const unknown = u32Array([0x7fff_fff0]);
    const points = u64Array([1n]);
    const wait = (fields: Parameters<typeof raw<keyof typeof DrmSyncobjTimelineWait.fields>>[4]): string =>
      raw(dev, 'SYNCOBJ_TIMELINE_WAIT', DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, DrmSyncobjTimelineWait, fields).code;
    const array = (name: string, request: number, fields: Parameters<typeof raw<keyof typeof DrmSyncobjTimelineArray.fields>>[4]): string =>
      raw(dev, name, request, DrmSyncobjTimelineArray, fields).code;
    const transfer = (fields: Parameters<typeof raw<keyof typeof DrmSyncobjTransfer.fields>>[4]): string =>
      raw(dev, 'SYNCOBJ_TRANSFER', DRM_IOCTL_SYNCOBJ_TRANSFER, DrmSyncobjTransfer, fields).code;
    const ok = { handles: one.addr, points: points.addr, count_handles: 1 };
    const cases: Array<[string, string, string]> = [
      ['TIMELINE_WAIT, as a reference', wait(ok), 'ok'],
      ['TIMELINE_WAIT unknown handle', wait({ ...ok, handles: unknown.addr }), 'ENOENT'],
      ['TIMELINE_WAIT unknown flag', wait({ ...ok, flags: 0x100 }), 'EINVAL'],
      ['TIMELINE_WAIT bad handles pointer', wait({ ...ok, handles: BAD_POINTER }), 'EFAULT'],
      ['TIMELINE_WAIT bad points pointer', wait({ ...ok, points: BAD_POINTER }), 'EFAULT'],
      ['TIMELINE_WAIT a point not added, without WAIT_FOR_SUBMIT', wait({ ...ok, points: u64Array([2n]).addr }), 'EINVAL'],
      ['QUERY, as a reference', array('SYNCOBJ_QUERY', DRM_IOCTL_SYNCOBJ_QUERY, ok), 'ok'],
      ['QUERY unknown handle', array('SYNCOBJ_QUERY', DRM_IOCTL_SYNCOBJ_QUERY, { ...ok, handles: unknown.addr }), 'ENOENT'],
      ['QUERY unknown flag', array('SYNCOBJ_QUERY', DRM_IOCTL_SYNCOBJ_QUERY, { ...ok, flags: 2 }), 'EINVAL'],
      ['QUERY no handles', array('SYNCOBJ_QUERY', DRM_IOCTL_SYNCOBJ_QUERY, { ...ok, count_handles: 0 }), 'EINVAL'],
      ['QUERY bad points pointer', array('SYNCOBJ_QUERY', DRM_IOCTL_SYNCOBJ_QUERY, { ...ok, points: BAD_POINTER }), 'EFAULT'],
      ['TIMELINE_SIGNAL unknown handle', array('SYNCOBJ_TIMELINE_SIGNAL', DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, { ...ok, handles: unknown.addr }), 'ENOENT'],
      ['TIMELINE_SIGNAL flags', array('SYNCOBJ_TIMELINE_SIGNAL', DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, { ...ok, flags: 1 }), 'EINVAL'],
      ['TIMELINE_SIGNAL no handles', array('SYNCOBJ_TIMELINE_SIGNAL', DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, { ...ok, count_handles: 0 }), 'EINVAL'],
      ['TIMELINE_SIGNAL bad points pointer', array('SYNCOBJ_TIMELINE_SIGNAL', DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, { ...ok, points: BAD_POINTER }), 'EFAULT'],
      ['TRANSFER unknown source', transfer({ src_handle: 0x7fff_fff0, dst_handle: timeline.handle, dst_point: 5n }), 'ENOENT'],
      ['TRANSFER unknown destination', transfer({ src_handle: timeline.handle, dst_handle: 0x7fff_fff0, src_point: 1n }), 'ENOENT'],
      ['TRANSFER pad', transfer({ src_handle: timeline.handle, dst_handle: timeline.handle, src_point: 1n, dst_point: 5n, pad: 1 }), 'EINVAL'],
      ['TRANSFER a source point not added', transfer({ src_handle: timeline.handle, dst_handle: timeline.handle, src_point: 9n, dst_point: 5n }), 'EINVAL'],
    ];
    expect(cases.map(([what, code]) => ({ what, code }))).toEqual(cases.map(([what, , want]) => ({ what, code: want })));
    // None of the refused calls added a point.
    expect(timeline.signaledPoint()).toBe(1n);
  });

  test(covers(['SUBMIT', 'SYNCOBJ_TIMELINE_WAIT', 'SYNCOBJ_TRANSFER', 'SYNCOBJ_TIMELINE_SIGNAL'], 'lifetime', 'a waiter for submit wakes when a job adds its point; a transferred point outlives the timeline\'s handle; a timeline outlives the file that made it'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4 << 20);
    using binary = dev.createSyncobj();
    inject('inject_delay_us', 20_000);
    try {
      using timeline = dev.createSyncobj();
      // A waiter for a point no job has added yet (WAIT_FOR_SUBMIT).
      const waiting = timeline.waitPoint(1n, WAIT_MS, { forSubmit: true });
      using f = dev.submit({ commands: new CommandStream().fill(bo.va, 4 << 20, 1), buffers: [bo], signal: { syncobj: timeline, point: 1n } });
      timeline.transferTo(binary, 0n, 1n);
      expect(await waiting).toBe(true);
      expect(await f.settle(0)).toEqual({ state: 'signaled' });
    } finally {
      inject('inject_delay_us', 0);
    }
    // The timeline's handle is gone; the binary syncobj keeps the point's fence.
    expect(await binary.wait(WAIT_MS)).toBe(true);

    // A timeline made in a file that closes, signalled and waited for in another.
    let fd: number;
    {
      using maker = Device.open();
      using t = maker.createSyncobj();
      fd = t.exportFd();
    }
    using user = Device.open();
    using t = user.importSyncobj(fd);
    native().close(fd);
    const waiting = t.waitPoint(2n, WAIT_MS, { forSubmit: true });
    t.signalPoint(2n);
    expect(await waiting).toBe(true);
    expect(t.signaledPoint()).toBe(2n);
  });

  test(covers(['SYNCOBJ_TIMELINE_WAIT', 'SYNCOBJ_TIMELINE_SIGNAL'], 'concurrency', 'waiters for points 1 to 3, in two files and on the thread pool, wake as the CPU signals each point, and not before'), async () => {
    using a = Device.open();
    using b = Device.open();
    using timeline = a.createSyncobj();
    const fd = timeline.exportFd();
    using theirs = b.importSyncobj(fd);
    native().close(fd);
    const woken: bigint[] = [];
    // Three waiters: libuv's pool has four threads, one stays free.
    const waiters = [1n, 2n, 3n].map((p) =>
      (p % 2n ? timeline : theirs).waitPoint(p, WAIT_MS, { forSubmit: true }).then((ok) => {
        if (ok) woken.push(p);
        return ok;
      }),
    );
    for (const p of [1n, 2n, 3n]) {
      timeline.signalPoint(p);
      // Every waiter up to p wakes; none beyond it has (none can: its point does not exist).
      for (let i = 0; i < 500 && woken.length < Number(p); i++) await new Promise((r) => setTimeout(r, 10));
      expect([...woken].sort()).toEqual([1n, 2n, 3n].filter((q) => q <= p));
    }
    expect(await Promise.all(waiters)).toEqual([true, true, true]);
  });

  test(covers(['SUBMIT', 'SYNCOBJ_TIMELINE_WAIT', 'SYNCOBJ_QUERY', 'SYNCOBJ_TRANSFER'], 'fault', "a job that faults still signals its point: the wait returns, QUERY counts it, TRANSFER moves it, and the job's own fence carries EFAULT"), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using timeline = dev.createSyncobj();
    using f = dev.submit({ commands: new CommandStream().fill(UNMAPPED_VA, 64, 1), buffers: [bo], signal: { syncobj: timeline, point: 1n } });
    expect(await timeline.waitPoint(1n, WAIT_MS)).toBe(true);
    expect(timeline.signaledPoint()).toBe(1n);
    expect(await f.settle(0)).toEqual({ state: 'error', errno: 14 });
    using binary = dev.createSyncobj();
    timeline.transferTo(binary, 0n, 1n);
    expect(await binary.wait(0)).toBe(true);
    // The banned file takes no job for the next point; the point stays unadded.
    expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo], signal: { syncobj: timeline, point: 2n } }))).toBe('ECANCELED');
    expect(await errnoOfAsync(() => timeline.waitPoint(2n, 0))).toBe('EINVAL');
  });
});
