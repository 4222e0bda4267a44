/**
 * The library's safety against its own callers, on the real device: an
 * ioctl argument too short for its request never reaches the kernel; waits
 * hold no thread of libuv's pool and end on an AbortSignal or when the
 * device is closed; discovery opens only ossa's nodes and skips those it
 * cannot open; a Worker that exits leaves no file, mapping or wait behind.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { CommandStream, Device, OssaError, accelNodes } from '../../src/index.js';
import { DRM_IOCTL_OSSA_BO_INFO } from '../../src/uapi.js';
import { native } from '../../src/native.js';
import { liveObjects } from './support/debugfs.js';
import { ossaNode, thrownBy, WAIT_MS } from './support/ossa.js';
import { VgemFence } from './support/vgem.js';

const run = promisify(execFile);
const settled = <T>(p: Promise<T>): Promise<T | unknown> => p.then((v) => v, (e: unknown) => e);

/** How many of this process's fds are open on `path`. */
function fdsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

describe('ioctl arguments', () => {
  test('an argument shorter than the request takes is EINVAL, and the bytes after it stay as they were', () => {
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    // BO_INFO is 24 bytes in and out; the caller passes the first 4.
    const mem = new Uint8Array(32).fill(0xaa);
    new DataView(mem.buffer).setUint32(0, bo.handle, true);
    const err = thrownBy(() => dev.ioctl('DRM_IOCTL_OSSA_BO_INFO', DRM_IOCTL_OSSA_BO_INFO, mem.subarray(0, 4)));
    expect(err).toBeInstanceOf(OssaError);
    expect(err).toMatchObject({ code: 'EINVAL', ioctl: 'DRM_IOCTL_OSSA_BO_INFO', message: expect.stringMatching(/4 bytes.*takes 24/) });
    expect([...mem.subarray(4)]).toEqual(new Array(28).fill(0xaa));
  });
});

describe('waits', () => {
  test('hold no thread of the pool: file-system work finishes while eight waits are pending; an AbortSignal ends them', async () => {
    using dev = Device.open();
    using gate = dev.createSyncobj();
    const ac = new AbortController();
    // More waits than libuv's pool has threads (4), none of which can end
    // before the signal.
    const waits = Array.from({ length: 8 }, () => settled(gate.wait(WAIT_MS, { forSubmit: true, signal: ac.signal })));
    const order: string[] = [];
    for (const w of waits) void w.then(() => order.push('wait'));
    await readFile('/proc/self/status');
    order.push('fs');
    expect(order).toEqual(['fs']);
    ac.abort(new Error('enough waiting'));
    expect(await Promise.all(waits)).toEqual(new Array(8).fill(expect.objectContaining({ message: 'enough waiting' })));
  });

  test('a busy buffer is waited for on the event loop, and the wait ends on an AbortSignal', async () => {
    using dev = Device.open();
    using out = dev.createBuffer(4 << 20);
    // The job waits for a fence of vgem's that the test signals only after
    // the abort: the buffer is busy for as long as the test needs, however
    // slow the kernel (a timed job ended before the abort on the debug lane).
    using vgem = new VgemFence();
    using gate = dev.createSyncobj();
    const syncFile = vgem.syncFile();
    gate.importSyncFile(syncFile);
    native().close(syncFile);
    const job = dev.submit({
      commands: new CommandStream().fill(out.va, 4 << 20, 0x5a5a5a5a),
      buffers: [{ buffer: out, access: 'write' }],
      waitFor: [gate],
    });
    const ac = new AbortController();
    const aborted = settled(out.wait(WAIT_MS, { signal: ac.signal }));
    const waiting = out.wait(WAIT_MS);
    await readFile('/proc/self/status');
    ac.abort(new Error('stop'));
    expect(await aborted).toMatchObject({ message: 'stop' });
    expect(await job.settle(0)).toEqual({ state: 'pending' });
    vgem.signal();
    expect(await waiting).toBe('success');
    expect(await job.settle(0)).toEqual({ state: 'signaled' });
    expect(new Uint32Array(out.map().buffer, (4 << 20) - 64, 16)).toEqual(new Uint32Array(16).fill(0x5a5a5a5a));
    job.close();
  });

  test('closing the device ends its waits with EBADF; a file opened after it does not receive them', async () => {
    const dev = Device.open();
    const s = dev.createSyncobj();
    const waits = Array.from({ length: 6 }, () => settled(s.wait(WAIT_MS, { forSubmit: true })));
    dev.close();
    // Likely the same fd number, and the same first syncobj handle, signalled.
    using other = Device.open();
    using t = other.createSyncobj({ signaled: true });
    void t;
    const results = await Promise.all(waits);
    expect(results).toEqual(new Array(6).fill(expect.objectContaining({ code: 'EBADF' })));
  });
});

describe('discovery', () => {
  test('opens the first ossa node it can, skips those it cannot, and never opens another driver\'s node', async () => {
    const real = ossaNode();
    const st = statSync(real);
    const major = (st.rdev >>> 8) & 0xfff;
    const minor = (st.rdev & 0xff) | ((st.rdev >>> 12) & 0xfff00);
    // The same device under a second name that anyone may open, and
    // /dev/null's numbers under an accel name (a node of no accel driver).
    const alias = '/dev/accel/accel63';
    const foreign = '/dev/accel/accel62';
    await run('mknod', ['-m', '0666', alias, 'c', String(major), String(minor)]);
    await run('mknod', ['-m', '0666', foreign, 'c', '1', '3']);
    chmodSync(real, 0o600);
    const asNobody = (): Promise<{ path?: string; code?: string; message?: string }> =>
      new Promise((resolve, reject) => {
        const script = `
          const lib = await import(process.env.OSSA_LIB);
          try { const d = lib.Device.open(); console.log(JSON.stringify({ path: d.path })); d.close(); }
          catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          uid: 65534,
          gid: 65534,
          env: { ...process.env, OSSA_LIB: new URL('../../src/index.js', import.meta.url).href },
        });
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
      });
    try {
      const nodes = accelNodes();
      expect(nodes.find((n) => n.path === foreign)).toMatchObject({ driver: undefined });
      expect(nodes.find((n) => n.path === alias)).toMatchObject({ driver: 'ossa' });
      expect(await asNobody()).toEqual({ path: alias });
      rmSync(alias);
      const none = await asNobody();
      expect(none).toMatchObject({ code: 'EACCES' });
      expect(none.message).toContain(real);
      expect(none.message).not.toContain(foreign);
    } finally {
      rmSync(alias, { force: true });
      rmSync(foreign, { force: true });
      chmodSync(real, st.mode & 0o7777);
    }
  });
});

describe('Workers', () => {
  test('a Worker that exits with its device open, a buffer mapped and a wait pending leaves none of them behind', async () => {
    const node = ossaNode();
    const before = { fds: fdsOn(node), objects: liveObjects() };
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.lib).then((lib) => {
        const dev = lib.Device.open();
        const bo = dev.createBuffer(1 << 20);
        bo.map().fill(1);
        dev.createSyncobj().wait(60000, { forSubmit: true });
        parentPort.postMessage('ready');
      });
      `,
      { eval: true, workerData: { lib: new URL('../../src/index.js', import.meta.url).href } },
    );
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    expect(fdsOn(node)).toBe(before.fds + 1);
    expect(await worker.terminate()).toBe(1);
    expect(fdsOn(node)).toBe(before.fds);
    expect(liveObjects()).toEqual(before.objects);
    const maps = await readFile('/proc/self/maps', 'utf8');
    expect(maps.split('\n').filter((l) => l.endsWith(node))).toEqual([]);
  });
});
