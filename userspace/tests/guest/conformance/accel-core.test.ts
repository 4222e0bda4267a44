/**
 * Tier 1: the DRM accel core, for any /dev/accel driver. The driver under
 * test is configuration: OSSA_CONFORMANCE_NODE (default: the first ossa
 * node) and, for the tests that need a buffer, the adapter below; nothing
 * else here is ossa-specific.
 */
import { describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import {
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_PRIME_FD_TO_HANDLE,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_DESTROY,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_RESET,
  DRM_IOCTL_SYNCOBJ_SIGNAL,
  DRM_IOCTL_SYNCOBJ_WAIT,
  DRM_IOCTL_VERSION,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DrmGemClose,
  DrmPrimeHandle,
  DrmSyncobjArray,
  DrmSyncobjCreate,
  DrmSyncobjDestroy,
  DrmSyncobjHandle,
  DrmSyncobjWait,
  DrmVersion,
  type DriverVersion,
} from '../../../src/drm.js';
import { Device, type DeviceBuffer, type Syncobj } from '../../../src/index.js';
import { DRM_IOCTL_BASE, iowr } from '../../../src/ioctl.js';
import { native } from '../../../src/native.js';
import { Struct } from '../../../src/struct.js';
import { runChildren } from '../support/children.js';
import { BAD_POINTER, errnoOf, openFdsOf, raw, SYNCOBJ_FD, syncobjWait, u32Array } from '../support/ossa.js';

/** How this tier gets a device and a buffer from the driver under test. */
const adapter = {
  open: (): Device => Device.open(process.env.OSSA_CONFORMANCE_NODE),
  createBuffer: (dev: Device, size: number): DeviceBuffer => dev.createBuffer(size),
};

/**
 * DRM_IOCTL_VERSION on libuv's thread pool, so that many can be in flight
 * at once: the first call learns the string lengths, the second fills them.
 */
async function versionAsync(dev: Device): Promise<DriverVersion> {
  const v = new Struct(DrmVersion);
  await dev.ioctlAsync('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, v.bytes);
  const strings = (['name', 'date', 'desc'] as const).map((f) => {
    const len = v.num(`${f}_len`);
    const buf = Buffer.alloc(len + 1);
    v.set(f, native().address(buf));
    return { buf, len };
  });
  await dev.ioctlAsync('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, v.bytes);
  const [name, date, desc] = strings.map(({ buf, len }) => buf.subarray(0, len).toString('utf8')) as [string, string, string];
  return { name, date, desc, major: v.num('version_major'), minor: v.num('version_minor'), patchlevel: v.num('version_patchlevel') };
}

describe('accel core: VERSION', () => {
  test(covers('VERSION', 'good', 'name, description and version'), () => {
    using dev = adapter.open();
    const v = dev.version();
    expect(v.name.length).toBeGreaterThan(0);
    expect(v.desc.length).toBeGreaterThan(0);
    expect(v.major).toBeGreaterThanOrEqual(0);
  });

  test(covers('VERSION', 'bad-input', 'a bad string pointer is EFAULT; too short a buffer is truncated, not overrun'), () => {
    using dev = adapter.open();
    const { out } = raw(dev, 'VERSION', DRM_IOCTL_VERSION, DrmVersion, {});
    expect(out.num('name_len')).toBeGreaterThan(0);
    expect(raw(dev, 'VERSION', DRM_IOCTL_VERSION, DrmVersion, { name_len: 8, name: BAD_POINTER }).code).toBe('EFAULT');
    const small = Buffer.alloc(4, 0x7e);
    const guard = Buffer.alloc(8, 0x7e);
    const both = Buffer.concat([small, guard]);
    const r = raw(dev, 'VERSION', DRM_IOCTL_VERSION, DrmVersion, { name_len: 2, name: native().address(both) });
    expect(r.code).toBe('ok');
    expect(both.subarray(2).every((b) => b === 0x7e)).toBe(true);
  });

  test(covers('VERSION', 'concurrency', 'many files of one device answer alike, 32 calls in flight at once'), async () => {
    using first = adapter.open();
    const want = first.version();
    const devs = Array.from({ length: 8 }, () => adapter.open());
    try {
      // 8 files x 4 calls, all queued on libuv's thread pool together.
      const got = await Promise.all(devs.flatMap((d) => Array.from({ length: 4 }, () => versionAsync(d))));
      expect(got).toEqual(Array.from({ length: 32 }, () => want));
    } finally {
      for (const d of devs) d.close();
    }
  });

  test(covers('VERSION', 'good', 'an ioctl of another type is ENOTTY'), () => {
    using dev = adapter.open();
    expect(errnoOf(() => dev.ioctl('x', iowr('x'.charCodeAt(0), 1, 16), Buffer.alloc(16)))).toBe('ENOTTY');
    // A DRM-type number above both the core's table and the driver range.
    expect(errnoOf(() => dev.ioctl('d-0xff', iowr(DRM_IOCTL_BASE, 0xff, 16), Buffer.alloc(16)))).toBe('EINVAL');
  });

  test(covers('VERSION', 'concurrency', 'the fd works in 3 child processes that inherit it, calling at once with the parent'), async () => {
    using dev = adapter.open();
    const want = dev.version().name;
    // Raw ioctls on the inherited fd 3: no open of its own in the child.
    const f = DrmVersion.fields;
    const script = `
      report('ready');
      await released();
      const names = {};
      for (let i = 0; i < 100; i++) {
        const b = Buffer.alloc(${DrmVersion.size});
        native().ioctl(3, ${DRM_IOCTL_VERSION}, b);
        const name = Buffer.alloc(Number(b.readBigUInt64LE(${f.name_len.offset})));
        b.writeBigUInt64LE(native().address(name), ${f.name.offset});
        native().ioctl(3, ${DRM_IOCTL_VERSION}, b);
        names[name.toString()] = (names[name.toString()] ?? 0) + 1;
      }
      report(names);
    `;
    // The parent keeps calling on the same open file meanwhile.
    let stop = false;
    let parentCalls = 0;
    let parent: Promise<void> = Promise.resolve();
    const results = await runChildren(script, 3, {
      fds: [dev.fd],
      whileHeld: () => {
        parent = (async () => {
          for (; !stop; parentCalls++) expect((await versionAsync(dev)).name).toBe(want);
        })();
        parent.catch(() => {}); // awaited below
      },
    }).finally(() => (stop = true));
    await parent;
    expect(results).toEqual([{ [want]: 100 }, { [want]: 100 }, { [want]: 100 }]);
    expect(parentCalls).toBeGreaterThan(0);
  });
});


describe('accel core: the DRM core\'s ioctls', () => {
  test('every core ioctl number answers an accel file without an oops; GET_UNIQUE and GET_MAGIC are EACCES, as on a render node', async () => {
    using dev = adapter.open();
    // In a child on the inherited fd 3: a core handler that oopses kills
    // the task that called it, and the parent then sees the child die.
    // _IO(): no argument is copied in or out, so each handler gets its
    // struct zeroed. 0x40-0x9f are the driver's own ioctls, not the core's.
    const script = `
      report('ready');
      const answers = {};
      for (let nr = 0; nr < 0x100; nr++) {
        if (nr >= 0x40 && nr < 0xa0) continue;
        try {
          native().ioctl(3, (${DRM_IOCTL_BASE} << 8) | nr, null);
          answers[nr] = 'ok';
        } catch (err) {
          answers[nr] = err.code;
        }
      }
      report(answers);
    `;
    const [answers] = (await runChildren(script, 1, { fds: [dev.fd] })) as [Record<string, string>];
    expect(Object.keys(answers)).toHaveLength(0x40 + 0x60);
    for (const [nr, code] of Object.entries(answers)) expect(code, `core ioctl 0x${Number(nr).toString(16)}`).toMatch(/^(ok|E[A-Z0-9]+)$/);
    // <drm/drm.h>: GET_UNIQUE is 0x01 and GET_MAGIC 0x02. An accel file has
    // no DRM master, whose unique name and magic map these ioctls read.
    expect({ getUnique: answers[0x01], getMagic: answers[0x02] }).toEqual({ getUnique: 'EACCES', getMagic: 'EACCES' });
    expect(dev.version().name.length).toBeGreaterThan(0);
  });
});

describe('accel core: GEM_CLOSE', () => {
  test(covers('GEM_CLOSE', 'good', 'closes a buffer handle; the handle is gone'), () => {
    using dev = adapter.open();
    const bo = adapter.createBuffer(dev, 4096);
    const h = bo.handle;
    expect(raw(dev, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: h }).code).toBe('ok');
    expect(raw(dev, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: h }).code).toBe('EINVAL');
  });

  test(covers('GEM_CLOSE', 'bad-input', 'handle 0 and an unknown handle are EINVAL'), () => {
    using dev = adapter.open();
    expect(raw(dev, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: 0 }).code).toBe('EINVAL');
    expect(raw(dev, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: 0x7fff_fff0 }).code).toBe('EINVAL');
  });

  test(covers('GEM_CLOSE', 'lifetime', "a handle of one file is not another's"), () => {
    using a = adapter.open();
    using b = adapter.open();
    using bo = adapter.createBuffer(a, 4096);
    expect(raw(b, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: bo.handle }).code).toBe('EINVAL');
    expect(bo.info().size).toBe(4096);
  });
});

describe('accel core: PRIME', () => {
  test(covers(['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE'], 'good', 'export and import back gives the same handle; another file gets its own'), () => {
    using a = adapter.open();
    using b = adapter.open();
    using bo = adapter.createBuffer(a, 8192);
    const fd = a.exportBuffer(bo);
    try {
      const self = raw(a, 'PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmPrimeHandle, { fd });
      expect(self.code).toBe('ok');
      expect(self.out.num('handle')).toBe(bo.handle);
      using imported = b.importBuffer(fd);
      expect(imported.size).toBe(8192);
      bo.map()[100] = 0x42;
      expect(imported.map()[100]).toBe(0x42);
    } finally {
      native().close(fd);
    }
  });

  test(covers(['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE'], 'bad-input', 'unknown handle, bad flags, a non-dma-buf fd'), () => {
    using dev = adapter.open();
    expect(raw(dev, 'PRIME_HANDLE_TO_FD', DRM_IOCTL_PRIME_HANDLE_TO_FD, DrmPrimeHandle, { handle: 0x7fff_fff0, fd: -1 }).code).toBe('ENOENT');
    using bo = adapter.createBuffer(dev, 4096);
    expect(raw(dev, 'PRIME_HANDLE_TO_FD', DRM_IOCTL_PRIME_HANDLE_TO_FD, DrmPrimeHandle, { handle: bo.handle, flags: 0x40, fd: -1 }).code).toBe('EINVAL');
    // dma_buf_get() refuses an open fd that is not a dma-buf with EINVAL.
    expect(raw(dev, 'PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmPrimeHandle, { fd: dev.fd }).code).toBe('EINVAL');
    expect(raw(dev, 'PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmPrimeHandle, { fd: 100_000 }).code).toBe('EBADF');
  });

  test(covers(['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE', 'GEM_CLOSE'], 'lifetime', 'the dma-buf keeps the buffer alive after every handle is closed'), () => {
    using a = adapter.open();
    using b = adapter.open();
    const bo = adapter.createBuffer(a, 4096);
    bo.map()[7] = 0x99;
    const fd = a.exportBuffer(bo);
    bo.close();
    try {
      using back = b.importBuffer(fd);
      expect(back.map()[7]).toBe(0x99);
    } finally {
      native().close(fd);
    }
  });

  test(covers('PRIME_FD_TO_HANDLE', 'concurrency', 'the same dma-buf imported at once by 3 processes and by 4 files of this one'), async () => {
    using a = adapter.open();
    using bo = adapter.createBuffer(a, 4096);
    bo.map()[0] = 0x11;
    const fd = a.exportBuffer(bo);
    // Each child imports the inherited dma-buf (fd 3) into files of its
    // own, again and again; one import of a dma-buf per file is one handle.
    const script = `
      report('ready');
      await released();
      const dev = lib.Device.open(process.env.OSSA_CONFORMANCE_NODE);
      const handles = new Set();
      for (let i = 0; i < 50; i++) handles.add(dev.importBuffer(3).handle);
      const buf = dev.importBuffer(3);
      buf.map()[1 + id] = 0x20 + id;
      report({ handles: handles.size, size: buf.size, seen: buf.map()[0] });
      buf.close();
      dev.close();
    `;
    const files = Array.from({ length: 4 }, () => adapter.open());
    try {
      let imports: Promise<number[]> = Promise.resolve([]);
      const results = await runChildren(script, 3, {
        fds: [fd],
        // Meanwhile this process imports into its 4 files on the thread pool.
        whileHeld: () => {
          imports = Promise.all(
            files.map(async (f) => {
              const p = Struct.from(DrmPrimeHandle, { fd });
              await f.ioctlAsync('DRM_IOCTL_PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, p.bytes);
              return p.num('handle');
            }),
          );
          imports.catch(() => {}); // awaited below
        },
      });
      expect(results).toEqual([0, 1, 2].map(() => ({ handles: 1, size: 4096, seen: 0x11 })));
      expect((await imports).every((h) => h > 0)).toBe(true);
      // Every child's write is in the one buffer, seen through each import.
      expect(Array.from(bo.map().subarray(0, 4))).toEqual([0x11, 0x20, 0x21, 0x22]);
      for (const f of files) {
        using x = f.importBuffer(fd);
        expect(Array.from(x.map().subarray(0, 4))).toEqual([0x11, 0x20, 0x21, 0x22]);
      }
    } finally {
      for (const f of files) f.close();
      native().close(fd);
    }
  });
});

describe('accel core: syncobj', () => {
  const wait = (dev: Device, handles: number[], timeoutNs: bigint, flags = 0): string => {
    const arr = u32Array(handles);
    return raw(dev, 'SYNCOBJ_WAIT', DRM_IOCTL_SYNCOBJ_WAIT, DrmSyncobjWait, {
      handles: arr.addr,
      count_handles: handles.length,
      timeout_nsec: timeoutNs,
      flags,
    }).code;
  };
  const now = (): bigint => process.hrtime.bigint();

  test(covers(['SYNCOBJ_CREATE', 'SYNCOBJ_SIGNAL', 'SYNCOBJ_WAIT', 'SYNCOBJ_RESET', 'SYNCOBJ_DESTROY'], 'good', 'create, signal, wait, reset, destroy'), async () => {
    using dev = adapter.open();
    using s = dev.createSyncobj();
    s.signal();
    expect(await s.wait(1000)).toBe(true);
    s.reset();
    expect(wait(dev, [s.handle], now())).toBe('EINVAL'); // no fence, no WAIT_FOR_SUBMIT
    expect(await s.wait(10, { forSubmit: true })).toBe(false);
    using t = dev.createSyncobj({ signaled: true });
    expect(wait(dev, [t.handle], now())).toBe('ok');
  });

  test(covers(['SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY', 'SYNCOBJ_SIGNAL', 'SYNCOBJ_RESET', 'SYNCOBJ_WAIT'], 'bad-input', 'bad flags, bad handles, bad pointers, non-zero pad'), () => {
    using dev = adapter.open();
    using s = dev.createSyncobj();
    const bad = u32Array([0x7fff_fff0]);
    const one = u32Array([s.handle]);
    const cases: Array<[string, string, string]> = [
      ['CREATE unknown flag', raw(dev, 'SYNCOBJ_CREATE', DRM_IOCTL_SYNCOBJ_CREATE, DrmSyncobjCreate, { flags: 0x80 }).code, 'EINVAL'],
      ['DESTROY unknown handle', raw(dev, 'SYNCOBJ_DESTROY', DRM_IOCTL_SYNCOBJ_DESTROY, DrmSyncobjDestroy, { handle: 0x7fff_fff0 }).code, 'EINVAL'],
      ['DESTROY pad', raw(dev, 'SYNCOBJ_DESTROY', DRM_IOCTL_SYNCOBJ_DESTROY, DrmSyncobjDestroy, { handle: s.handle, pad: 1 }).code, 'EINVAL'],
      ['SIGNAL unknown handle', raw(dev, 'SYNCOBJ_SIGNAL', DRM_IOCTL_SYNCOBJ_SIGNAL, DrmSyncobjArray, { handles: bad.addr, count_handles: 1 }).code, 'ENOENT'],
      ['SIGNAL pad', raw(dev, 'SYNCOBJ_SIGNAL', DRM_IOCTL_SYNCOBJ_SIGNAL, DrmSyncobjArray, { handles: one.addr, count_handles: 1, pad: 1 }).code, 'EINVAL'],
      ['SIGNAL no handles', raw(dev, 'SYNCOBJ_SIGNAL', DRM_IOCTL_SYNCOBJ_SIGNAL, DrmSyncobjArray, { handles: one.addr, count_handles: 0 }).code, 'EINVAL'],
      ['RESET bad pointer', raw(dev, 'SYNCOBJ_RESET', DRM_IOCTL_SYNCOBJ_RESET, DrmSyncobjArray, { handles: BAD_POINTER, count_handles: 1 }).code, 'EFAULT'],
      ['RESET unknown handle', raw(dev, 'SYNCOBJ_RESET', DRM_IOCTL_SYNCOBJ_RESET, DrmSyncobjArray, { handles: bad.addr, count_handles: 1 }).code, 'ENOENT'],
      ['WAIT unknown flag', wait(dev, [s.handle], 0n, 0x100), 'EINVAL'],
      ['WAIT unknown handle', wait(dev, [0x7fff_fff0], 0n), 'ENOENT'],
    ];
    for (const [what, got, want] of cases) expect({ what, got }).toEqual({ what, got: want });
  });

  test(covers(['SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE'], 'good', 'a syncobj fd shared with another file, and a sync_file round trip'), async () => {
    using a = adapter.open();
    using b = adapter.open();
    using s = a.createSyncobj();
    const fd = s.exportFd();
    using t = b.importSyncobj(fd);
    native().close(fd);
    s.signal();
    expect(await t.wait(1000)).toBe(true);
    const sf = s.exportSyncFile();
    const imp = raw(b, 'SYNCOBJ_FD_TO_HANDLE', DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, DrmSyncobjHandle, { fd: sf, flags: 1, handle: t.handle });
    native().close(sf);
    expect(imp.code).toBe('ok');
  });

  test(covers(['SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE'], 'bad-input', 'bad handle, bad flags, a non-syncobj fd'), () => {
    using dev = adapter.open();
    // drm_syncobj_handle_to_fd() answers an unknown handle with EINVAL.
    expect(raw(dev, 'SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, DrmSyncobjHandle, { handle: 0x7fff_fff0, fd: -1 }).code).toBe('EINVAL');
    using s = dev.createSyncobj();
    expect(raw(dev, 'SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, DrmSyncobjHandle, { handle: s.handle, flags: 0x80, fd: -1 }).code).toBe('EINVAL');
    expect(raw(dev, 'SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, DrmSyncobjHandle, { handle: s.handle, pad: 1, fd: -1 }).code).toBe('EINVAL');
    expect(raw(dev, 'SYNCOBJ_FD_TO_HANDLE', DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, DrmSyncobjHandle, { fd: dev.fd }).code).toBe('EINVAL');
  });

  test(covers(['SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY', 'SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE', 'SYNCOBJ_WAIT', 'SYNCOBJ_SIGNAL'], 'lifetime', 'an exported syncobj outlives its handle; a destroyed handle is gone'), async () => {
    using a = adapter.open();
    using b = adapter.open();
    const s = a.createSyncobj();
    const fd = s.exportFd();
    const h = s.handle;
    s.close();
    expect(raw(a, 'SYNCOBJ_DESTROY', DRM_IOCTL_SYNCOBJ_DESTROY, DrmSyncobjDestroy, { handle: h }).code).toBe('EINVAL');
    using t = b.importSyncobj(fd);
    native().close(fd);
    t.signal();
    expect(await syncobjWait(b, [t.handle], 1000)).toBe('ok');
    expect(await t.wait(1000)).toBe(true);
  });

  test(covers(['SYNCOBJ_WAIT', 'SYNCOBJ_SIGNAL', 'SYNCOBJ_FD_TO_HANDLE'], 'concurrency', 'waiters in several files wake on one signal'), async () => {
    using a = adapter.open();
    using s = a.createSyncobj();
    const fd = s.exportFd();
    const files = Array.from({ length: 4 }, () => adapter.open());
    try {
      const objs = files.map((f) => f.importSyncobj(fd));
      let woken = 0;
      // Each a DRM_IOCTL_SYNCOBJ_WAIT (WAIT_FOR_SUBMIT) asleep in the kernel
      // on a thread of the pool, and one wait of the library's (an eventfd).
      const waits = objs.map((o, i) =>
        syncobjWait(files[i] as Device, [o.handle], 10_000, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT).finally(() => woken++),
      );
      const library = (objs[0] as Syncobj).wait(10_000, { forSubmit: true }).finally(() => woken++);
      await new Promise((r) => setTimeout(r, 100));
      // Nothing is signalled yet: every waiter is still blocked.
      expect(woken).toBe(0);
      s.signal();
      expect(await Promise.all(waits)).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(await library).toBe(true);
      for (const o of objs) o.close();
    } finally {
      for (const f of files) f.close();
      native().close(fd);
    }
  });

  test(covers(['SYNCOBJ_WAIT'], 'fault', 'a wait that times out says so (ETIME), and a wait in the past polls'), async () => {
    using dev = adapter.open();
    using s = dev.createSyncobj();
    expect(wait(dev, [s.handle], now() + 20_000_000n, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)).toBe('ETIME');
    expect(await s.wait(20, { forSubmit: true })).toBe(false);
    s.signal();
    expect(wait(dev, [s.handle], 0n)).toBe('ok');
  });

  // No count of syncobjs is exposed (the DRM core keeps none, the driver's
  // debugfs counts its own objects only): the debug kernel's kmemleak scan
  // after each file catches a syncobj that is never freed. This test does
  // the work that would leak, and checks what any kernel shows: handles
  // gone when destroyed, the handle table empty again, imports that are
  // the same syncobj, and no syncobj fd left open.
  test(covers(['SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY', 'SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE'], 'leak', '1000 syncobjs created, exported, imported and destroyed; files closed with 300 alive'), async () => {
    const fdsBefore = openFdsOf(SYNCOBJ_FD);
    const destroy = (dev: Device, handle: number): string =>
      raw(dev, 'SYNCOBJ_DESTROY', DRM_IOCTL_SYNCOBJ_DESTROY, DrmSyncobjDestroy, { handle }).code;
    {
      using a = adapter.open();
      using b = adapter.open();
      const first = raw(a, 'SYNCOBJ_CREATE', DRM_IOCTL_SYNCOBJ_CREATE, DrmSyncobjCreate, {});
      expect(first.code).toBe('ok');
      const firstHandle = first.out.num('handle');
      expect(destroy(a, firstHandle)).toBe('ok');
      for (let i = 0; i < 1000; i++) {
        const s = a.createSyncobj();
        const fd = s.exportFd();
        // Into the same file and into another: two more references.
        const t = a.importSyncobj(fd);
        const u = b.importSyncobj(fd);
        native().close(fd);
        if (i % 100 === 0) {
          // The imports are the syncobj itself: a signal through one is seen by the others.
          expect(t.handle).not.toBe(s.handle);
          u.signal();
          expect([wait(a, [s.handle], 0n), wait(a, [t.handle], 0n)]).toEqual(['ok', 'ok']);
        }
        const inA = [s.handle, t.handle];
        const inB = u.handle;
        t.close();
        s.close();
        u.close();
        if (i % 100 === 0) {
          // Destroyed handles are gone, in both files.
          expect([...inA.map((h) => destroy(a, h)), destroy(b, inB)]).toEqual(['EINVAL', 'EINVAL', 'EINVAL']);
          expect(wait(b, [inB], 0n)).toBe('ENOENT');
        }
      }
      // Every handle was destroyed: the table hands out the first one again.
      using again = a.createSyncobj();
      expect(again.handle).toBe(firstHandle);
      expect(openFdsOf(SYNCOBJ_FD)).toBe(fdsBefore);
    }

    // Files closed with their syncobjs alive: 200 created in c, 100 of them
    // exported and imported into d; c closes first, then d.
    const held: number[] = [];
    {
      using c = adapter.open();
      using d = adapter.open();
      const imported: number[] = [];
      for (let i = 0; i < 200; i++) {
        const s = c.createSyncobj({ signaled: i % 2 === 0 });
        if (i % 2 === 1) continue;
        const fd = s.exportFd();
        held.push(fd);
        imported.push(d.importSyncobj(fd).handle);
      }
      // Each exported fd is open until it is closed: the count sees them.
      expect(openFdsOf(SYNCOBJ_FD)).toBe(fdsBefore + 100);
      for (const fd of held.splice(0, 50)) native().close(fd);
      expect(openFdsOf(SYNCOBJ_FD)).toBe(fdsBefore + 50);
      c.close();
      // d's imports outlive c's file: still signalled, still waitable.
      expect(wait(d, imported, 0n, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL)).toBe('ok');
    }
    // The other 50 fds outlive both files: each still imports and works.
    {
      using e = adapter.open();
      for (const fd of held) {
        using s = e.importSyncobj(fd);
        expect(await s.wait(0)).toBe(true);
        native().close(fd);
      }
    }
    expect(openFdsOf(SYNCOBJ_FD)).toBe(fdsBefore);
  });
});

describe('accel core: mmap offsets', () => {
  test(covers('BO_MMAP_OFFSET', 'good', 'the offset is page-aligned, stable, and distinct per buffer'), () => {
    using dev = adapter.open();
    using a = adapter.createBuffer(dev, 4096);
    using b = adapter.createBuffer(dev, 4096);
    const oa = a.mmapOffset();
    expect(oa % 4096n).toBe(0n);
    expect(a.mmapOffset()).toBe(oa);
    expect(b.mmapOffset()).not.toBe(oa);
  });

  // No row: the bad input goes to mmap(2), which is not an ioctl.
  test('mmap at an offset of no buffer, or past its end, fails', () => {
    using dev = adapter.open();
    using a = adapter.createBuffer(dev, 4096);
    const off = a.mmapOffset();
    // drm_gem_mmap(): no buffer at the offset, or one smaller than the mapping.
    expect(errnoOf(() => native().mmap(dev.fd, 4096, off + 0x1000_0000n, true))).toBe('EINVAL');
    expect(errnoOf(() => native().mmap(dev.fd, 8192, off, true))).toBe('EINVAL');
  });

  test(covers(['BO_MMAP_OFFSET', 'GEM_CLOSE'], 'lifetime', "a mapping outlives the handle; another file cannot map the buffer's offset"), () => {
    using dev = adapter.open();
    using other = adapter.open();
    const a = adapter.createBuffer(dev, 4096);
    const off = a.mmapOffset();
    const view = a.map();
    view[0] = 5;
    // The offset exists, but this file has no handle for it.
    expect(errnoOf(() => native().mmap(other.fd, 4096, off, true))).toBe('EACCES');
    // Close the handle only: the CPU mapping stays valid until it is unmapped.
    expect(raw(dev, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: a.handle }).code).toBe('ok');
    view[1] = 6;
    expect((view[0] ?? 0) + (view[1] ?? 0)).toBe(11);
    native().munmap(view.buffer as ArrayBuffer);
  });
});
