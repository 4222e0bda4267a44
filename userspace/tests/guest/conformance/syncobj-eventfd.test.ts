/**
 * Tier 2, ossa: DRM_IOCTL_SYNCOBJ_EVENTFD, the wait the library's point
 * and for-submit waits are built on: the kernel signals an eventfd once a
 * syncobj's point signals (or, with WAIT_AVAILABLE, once it exists), for
 * points ossa's jobs add; with bad input; when the eventfd, the syncobj or
 * the file goes first; many registrations on points jobs on both queues
 * signal; a job that faults; and a thousand registrations that must leave
 * nothing behind (kmemleak, on the debug kernel, scans after the file).
 */
import { readSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { DRM_IOCTL_SYNCOBJ_EVENTFD, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE, DrmSyncobjEventfd } from '../../../src/drm.js';
import { waitFd } from '../../../src/fd-wait.js';
import { CommandStream, Device, type Syncobj } from '../../../src/index.js';
import { native } from '../../../src/native.js';
import { raw, UNMAPPED_VA, WAIT_MS } from '../support/ossa.js';
import { VgemFence } from '../support/vgem.js';

/** Registers `fd` on the point (0: a binary syncobj's fence); the errno code or 'ok'. */
function register(dev: Device, s: Syncobj | number, point: bigint, fd: number, fields: { flags?: number; pad?: number } = {}): string {
  const handle = typeof s === 'number' ? s : s.handle;
  return raw(dev, 'SYNCOBJ_EVENTFD', DRM_IOCTL_SYNCOBJ_EVENTFD, DrmSyncobjEventfd, { handle, point, fd, ...fields }).code;
}

/** The eventfd's counter, read and so reset: how often it was signalled since (0: not at all). */
function drain(fd: number): bigint {
  const b = Buffer.alloc(8);
  try {
    readSync(fd, b, 0, 8, null);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return 0n;
    throw err;
  }
  return b.readBigUInt64LE(0);
}

const signalled = (fd: number): Promise<boolean> => waitFd(fd, 'readable', WAIT_MS, []);

describe('SYNCOBJ_EVENTFD', () => {
  test(covers(['SYNCOBJ_EVENTFD', 'SUBMIT'], 'good', "a job's timeline point and its binary fence signal their eventfds once, when the job is done; WAIT_AVAILABLE signals when the point is added; a point signalled already signals at once"), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(1 << 16);
    using timeline = dev.createSyncobj();
    // The job waits for vgem's fence, so that it is queued, not done, until the test says.
    using vgem = new VgemFence();
    using gate = dev.createSyncobj();
    const sf = vgem.syncFile();
    gate.importSyncFile(sf);
    native().close(sf);
    const [done, available, binary, late] = [0, 1, 2, 3].map(() => native().eventfd()) as [number, number, number, number];
    try {
      expect(register(dev, timeline, 1n, done)).toBe('ok');
      expect(register(dev, timeline, 1n, available, { flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE })).toBe('ok');
      using f = dev.submit({ commands: new CommandStream().fill(bo.va, 1 << 16, 7), buffers: [bo], waitFor: [gate], signal: { syncobj: timeline, point: 1n } });
      using fence = dev.createSyncobj();
      timeline.transferTo(fence, 0n, 1n);
      expect(register(dev, fence, 0n, binary)).toBe('ok');
      expect(await signalled(available)).toBe(true);
      expect([drain(available), drain(done), drain(binary)]).toEqual([1n, 0n, 0n]);
      vgem.signal();
      expect(await signalled(done)).toBe(true);
      expect(await signalled(binary)).toBe(true);
      expect([drain(done), drain(binary)]).toEqual([1n, 1n]);
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
      expect(register(dev, timeline, 1n, late)).toBe('ok');
      expect(await signalled(late)).toBe(true);
      expect(drain(late)).toBe(1n);
      // Once: nothing signals them again.
      expect([drain(available), drain(done), drain(binary)]).toEqual([0n, 0n, 0n]);
    } finally {
      for (const fd of [done, available, binary, late]) native().close(fd);
    }
  });

  test(covers(['SYNCOBJ_EVENTFD'], 'bad-input', 'an unknown handle, an unknown flag, non-zero pad, a closed fd and an fd that is no eventfd'), () => {
    using dev = Device.open();
    using s = dev.createSyncobj();
    const efd = native().eventfd();
    const notEventfd = s.exportFd();
    try {
      const cases: Array<[string, string, string]> = [
        ['unknown handle', register(dev, 0x7fff_fff0, 1n, efd), 'ENOENT'],
        ['unknown flag (WAIT_ALL)', register(dev, s, 1n, efd, { flags: 0x1 }), 'EINVAL'],
        ['unknown flag (high bit)', register(dev, s, 1n, efd, { flags: 0x8000_0000 }), 'EINVAL'],
        ['non-zero pad', register(dev, s, 1n, efd, { pad: 1 }), 'EINVAL'],
        ['a closed fd', register(dev, s, 1n, 0x7ffff), 'EBADF'],
        ['a syncobj fd, not an eventfd', register(dev, s, 1n, notEventfd), 'EINVAL'],
      ];
      expect(cases.map(([what, code]) => ({ what, code }))).toEqual(cases.map(([what, , want]) => ({ what, code: want })));
      // None was registered: signalling the point signals nothing.
      s.signalPoint(1n);
      expect(drain(efd)).toBe(0n);
    } finally {
      native().close(efd);
      native().close(notEventfd);
    }
  });

  test(covers(['SYNCOBJ_EVENTFD', 'SUBMIT'], 'lifetime', 'the eventfd closed before its point signals, the syncobj destroyed with a registration, and a registration that outlives the file that made it'), async () => {
    using a = Device.open();
    using b = Device.open();
    using bo = a.createBuffer(1 << 16);
    const job = (dev: Device, syncobj: Syncobj, point: bigint) =>
      dev.submit({ commands: new CommandStream().fill(bo.va, 1 << 16, Number(point)), buffers: [bo], signal: { syncobj, point } });

    // The eventfd goes first: the kernel holds its own reference; a new
    // eventfd, likely at the same number, hears nothing.
    using t1 = a.createSyncobj();
    const gone = native().eventfd();
    expect(register(a, t1, 1n, gone)).toBe('ok');
    native().close(gone);
    const fresh = native().eventfd();
    try {
      using f1 = job(a, t1, 1n);
      expect(await f1.settle(WAIT_MS)).toEqual({ state: 'signaled' });
      expect(await t1.waitPoint(1n, WAIT_MS)).toBe(true);
      expect(drain(fresh)).toBe(0n);
    } finally {
      native().close(fresh);
    }

    // The syncobj goes with a registration pending: its eventfd is never signalled.
    const orphan = native().eventfd();
    try {
      const t2 = a.createSyncobj();
      expect(register(a, t2, 5n, orphan)).toBe('ok');
      t2.close();
      expect(await waitFd(orphan, 'readable', 100, [])).toBe(false);
    } finally {
      native().close(orphan);
    }

    // The registration is the syncobj's, not the file's: made in c, which
    // closes, it fires when b's job adds the point to the shared syncobj.
    using bo2 = b.createBuffer(1 << 16);
    const shared = b.createSyncobj();
    const efd = native().eventfd();
    try {
      const fd = shared.exportFd();
      {
        using c = Device.open();
        using inC = c.importSyncobj(fd);
        native().close(fd);
        expect(register(c, inC, 3n, efd)).toBe('ok');
      }
      using f = b.submit({ commands: new CommandStream().fill(bo2.va, 1 << 16, 3), buffers: [bo2], signal: { syncobj: shared, point: 3n } });
      expect(await signalled(efd)).toBe(true);
      expect(drain(efd)).toBe(1n);
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
    } finally {
      shared.close();
      native().close(efd);
    }
  });

  test(covers(['SYNCOBJ_EVENTFD', 'SUBMIT'], 'concurrency', 'thirty-two registrations from two files on eight points that jobs on both queues add in turn: each eventfd signalled exactly once'), async () => {
    using a = Device.open();
    using b = Device.open();
    using bo = a.createBuffer(1 << 16);
    using timeline = a.createSyncobj();
    const fd = timeline.exportFd();
    using inB = b.importSyncobj(fd);
    native().close(fd);
    const queues = Number(a.param('numQueues'));
    const efds = Array.from({ length: 32 }, () => native().eventfd());
    try {
      efds.forEach((efd, i) => {
        const point = BigInt((i % 8) + 1);
        expect(i % 2 ? register(b, inB, point, efd) : register(a, timeline, point, efd)).toBe('ok');
      });
      const fences = Array.from({ length: 8 }, (_, k) => {
        const point = BigInt(k + 1);
        return a.submit({
          queue: k % queues,
          commands: new CommandStream().fill(bo.va, 1 << 16, k),
          buffers: [bo],
          ...(k > 0 ? { waitFor: [{ syncobj: timeline, point: point - 1n }] } : {}),
          signal: { syncobj: timeline, point },
        });
      });
      try {
        expect(await Promise.all(efds.map(signalled))).toEqual(efds.map(() => true));
        expect(efds.map(drain)).toEqual(efds.map(() => 1n));
        expect(await Promise.all(fences.map((f) => f.settle(WAIT_MS)))).toEqual(fences.map(() => ({ state: 'signaled' })));
      } finally {
        for (const f of fences) f.close();
      }
    } finally {
      for (const efd of efds) native().close(efd);
    }
  });

  test(covers(['SYNCOBJ_EVENTFD', 'SUBMIT'], 'fault', 'a job that faults still signals its point: the eventfd fires and the fence carries EFAULT'), async () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using timeline = dev.createSyncobj();
    const efd = native().eventfd();
    try {
      expect(register(dev, timeline, 1n, efd)).toBe('ok');
      using f = dev.submit({ commands: new CommandStream().fill(UNMAPPED_VA, 4096, 1), buffers: [bo], signal: { syncobj: timeline, point: 1n } });
      expect(await signalled(efd)).toBe(true);
      expect(drain(efd)).toBe(1n);
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
    } finally {
      native().close(efd);
    }
  });

  // The registrations hold a reference to each eventfd's context, which
  // userspace cannot see: the debug kernel's kmemleak scan after this file
  // finds any registration or context never freed. This test makes them
  // and checks what any kernel shows.
  test(covers(['SYNCOBJ_EVENTFD'], 'leak', 'a thousand registrations on a point never added and a thousand on one signalled, the eventfds closed first, then the syncobjs destroyed'), () => {
    using dev = Device.open();
    using pending = dev.createSyncobj();
    using done = dev.createSyncobj();
    done.signalPoint(1n);
    const counts: bigint[] = [];
    for (let i = 0; i < 1000; i++) {
      const efd = native().eventfd();
      try {
        expect(register(dev, pending, 9n, efd)).toBe('ok');
        expect(register(dev, done, 1n, efd)).toBe('ok');
        // Registered on a signalled point: signalled at once (and not kept);
        // the pending one not at all.
        counts.push(drain(efd));
      } finally {
        native().close(efd);
      }
    }
    expect(counts.every((c) => c === 1n)).toBe(true);
  });
});
