/**
 * Tier 1: the DRM accel core, for any /dev/accel driver. The driver under
 * test is configuration: OSSA_CONFORMANCE_NODE (default: the first ossa
 * node) and, for the tests that need a buffer, the adapter below; nothing
 * else here is ossa-specific.
 */
import { spawnSync } from 'node:child_process';
import { closeSync } from 'node:fs';
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
  DrmGemClose,
  DrmPrimeHandle,
  DrmSyncobjArray,
  DrmSyncobjCreate,
  DrmSyncobjDestroy,
  DrmSyncobjHandle,
  DrmSyncobjWait,
  DrmVersion,
} from '../../../src/drm.js';
import { Device, type DeviceBuffer } from '../../../src/index.js';
import { DRM_IOCTL_BASE, iowr } from '../../../src/ioctl.js';
import { native } from '../../../src/native.js';
import { BAD_POINTER, errnoOf, raw, u32Array } from '../support/ossa.js';

/** How this tier gets a device and a buffer from the driver under test. */
const adapter = {
  open: (): Device => Device.open(process.env.OSSA_CONFORMANCE_NODE),
  createBuffer: (dev: Device, size: number): DeviceBuffer => dev.createBuffer(size),
};

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

  test(covers('VERSION', 'concurrency', 'many files of one device answer alike'), () => {
    const devs = Array.from({ length: 8 }, () => adapter.open());
    try {
      const names = new Set(devs.map((d) => d.version().name));
      expect(names.size).toBe(1);
    } finally {
      for (const d of devs) d.close();
    }
  });

  test(covers('VERSION', 'good', 'an ioctl of another type is ENOTTY'), () => {
    using dev = adapter.open();
    expect(errnoOf(() => dev.ioctl('x', iowr('x'.charCodeAt(0), 1, 16), Buffer.alloc(16)))).toBe('ENOTTY');
    expect(errnoOf(() => dev.ioctl('d-0xff', iowr(DRM_IOCTL_BASE, 0xff, 16), Buffer.alloc(16)))).toMatch(/EINVAL|ENOTTY/);
  });

  test.skip('GET_UNIQUE: not run: on an accel node Linux 6.12 drm_getunique() dereferences the file\'s DRM master, which accel files lack, and oopses', () => {});

  test(covers('VERSION', 'concurrency', 'the fd works in a child process that inherits it'), () => {
    using dev = adapter.open();
    const script = `
      const { createRequire } = require('node:module');
      const n = require(process.env.OSSA_NATIVE_BINDING);
      const b = Buffer.alloc(64);
      n.ioctl(3, ${DRM_IOCTL_VERSION}, b);
      process.stdout.write(String(b.readBigUInt64LE(16)));
    `;
    const r = spawnSync(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe', dev.fd], encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(Number(r.stdout)).toBe(dev.version().name.length);
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
      closeSync(fd);
    }
  });

  test(covers(['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE'], 'bad-input', 'unknown handle, bad flags, a non-dma-buf fd'), () => {
    using dev = adapter.open();
    expect(raw(dev, 'PRIME_HANDLE_TO_FD', DRM_IOCTL_PRIME_HANDLE_TO_FD, DrmPrimeHandle, { handle: 0x7fff_fff0, fd: -1 }).code).toBe('ENOENT');
    using bo = adapter.createBuffer(dev, 4096);
    expect(raw(dev, 'PRIME_HANDLE_TO_FD', DRM_IOCTL_PRIME_HANDLE_TO_FD, DrmPrimeHandle, { handle: bo.handle, flags: 0x40, fd: -1 }).code).toBe('EINVAL');
    expect(raw(dev, 'PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmPrimeHandle, { fd: dev.fd }).code).toMatch(/EINVAL|EBADF/);
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
      closeSync(fd);
    }
  });

  test(covers('PRIME_FD_TO_HANDLE', 'concurrency', 'the same dma-buf imported by several files at once'), () => {
    using a = adapter.open();
    using bo = adapter.createBuffer(a, 4096);
    const fd = a.exportBuffer(bo);
    const files = Array.from({ length: 6 }, () => adapter.open());
    try {
      const bufs = files.map((f) => f.importBuffer(fd));
      bo.map()[1] = 0x11;
      expect(bufs.every((x) => x.map()[1] === 0x11)).toBe(true);
      for (const x of bufs) x.close();
    } finally {
      for (const f of files) f.close();
      closeSync(fd);
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
    closeSync(fd);
    s.signal();
    expect(await t.wait(1000)).toBe(true);
    const sf = s.exportSyncFile();
    const imp = raw(b, 'SYNCOBJ_FD_TO_HANDLE', DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, DrmSyncobjHandle, { fd: sf, flags: 1, handle: t.handle });
    closeSync(sf);
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
    closeSync(fd);
    t.signal();
    expect(await t.wait(1000)).toBe(true);
  });

  test(covers(['SYNCOBJ_WAIT', 'SYNCOBJ_SIGNAL', 'SYNCOBJ_FD_TO_HANDLE'], 'concurrency', 'waiters in several files wake on one signal'), async () => {
    using a = adapter.open();
    using s = a.createSyncobj();
    const fd = s.exportFd();
    const files = Array.from({ length: 4 }, () => adapter.open());
    try {
      const objs = files.map((f) => f.importSyncobj(fd));
      const waits = objs.map((o) => o.wait(10_000, { forSubmit: true }));
      await new Promise((r) => setTimeout(r, 50));
      s.signal();
      expect(await Promise.all(waits)).toEqual([true, true, true, true]);
      for (const o of objs) o.close();
    } finally {
      for (const f of files) f.close();
      closeSync(fd);
    }
  });

  test(covers(['SYNCOBJ_WAIT'], 'fault', 'a wait that times out says so (ETIME), and a wait in the past polls'), async () => {
    using dev = adapter.open();
    using s = dev.createSyncobj();
    expect(await s.wait(20, { forSubmit: true })).toBe(false);
    s.signal();
    expect(wait(dev, [s.handle], 0n)).toBe('ok');
  });

  test(covers(['SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY', 'SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE'], 'leak', '1000 syncobjs created, exported, imported and destroyed'), () => {
    using a = adapter.open();
    for (let i = 0; i < 1000; i++) {
      const s = a.createSyncobj();
      const fd = s.exportFd();
      const t = a.importSyncobj(fd);
      closeSync(fd);
      t.close();
      s.close();
    }
    expect(raw(a, 'SYNCOBJ_CREATE', DRM_IOCTL_SYNCOBJ_CREATE, DrmSyncobjCreate, {}).code).toBe('ok');
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

  test(covers('BO_MMAP_OFFSET', 'bad-input', 'mmap at an offset of no buffer, or past its end, fails'), () => {
    using dev = adapter.open();
    using a = adapter.createBuffer(dev, 4096);
    const off = a.mmapOffset();
    expect(() => native().mmap(dev.fd, 4096, off + 0x1000_0000n, true)).toThrow();
    expect(() => native().mmap(dev.fd, 8192, off, true)).toThrow();
  });

  test(covers(['BO_MMAP_OFFSET', 'GEM_CLOSE'], 'lifetime', "a mapping outlives the handle; another file cannot map the buffer's offset"), () => {
    using dev = adapter.open();
    using other = adapter.open();
    const a = adapter.createBuffer(dev, 4096);
    const off = a.mmapOffset();
    const view = a.map();
    view[0] = 5;
    expect(() => native().mmap(other.fd, 4096, off, true)).toThrow();
    // Close the handle only: the CPU mapping stays valid until it is unmapped.
    expect(raw(dev, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle: a.handle }).code).toBe('ok');
    view[1] = 6;
    expect((view[0] ?? 0) + (view[1] ?? 0)).toBe(11);
    native().munmap(view.buffer as ArrayBuffer);
  });
});
