/**
 * The library's parts that need no device: command encoding (against the
 * register header), struct packing, error mapping, the native binding's
 * mmap on a plain file, and the CLI's usage errors.
 */
import { closeSync, constants, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { readManifest } from '../../../ci/lib/manifest.js';
import { repoRoot } from '../../../ci/lib/paths.js';
import { R_ALL } from '../../../qemu-device/tests/regs.js';
import { CommandStream, OPCODES } from '../../src/commands.js';
import { OssaError, SubmitError, wrapNativeError } from '../../src/errors.js';
import { native } from '../../src/native.js';
import { defineStruct, Struct } from '../../src/struct.js';

// The binding the build made, as the guest image's init points to its copy.
const manifest = await readManifest();
process.env.OSSA_NATIVE_BINDING ??= manifest.nativeBinding;

describe('CommandStream', () => {
  test('opcodes and sizes are those of ossa_regs.h', () => {
    for (const [name, { opcode, size }] of Object.entries(OPCODES)) {
      const c = name === 'fmaF32' ? 'FMA_F32' : name.toUpperCase();
      expect({ name, opcode, size }).toEqual({ name, opcode: R_ALL[`CMD_${c}`], size: R_ALL[`CMD_${c}_SIZE`] });
    }
  });

  test('encodes each command little-endian, back to back', () => {
    const s = new CommandStream()
      .nop()
      .copy(0x1000n, 0x2000n, 300)
      .fill(0x3000, 64, 0xdeadbeef)
      .crc32c(0x10, 9, 0x20, 7)
      .fmaF32(5, 1, 2, 3, 4)
      .fence(0x40, 0x1122334455667788n, { irq: true })
      .timestamp(0x48);
    const b = s.toBuffer();
    expect(b.length).toBe(8 + 32 + 24 + 32 + 40 + 24 + 16);
    expect(s.size).toBe(b.length);
    expect(s.counts).toEqual({ nop: 1, copy: 1, fill: 1, crc32c: 1, fmaF32: 1, fence: 1, timestamp: 1 });
    expect(b.readUInt32LE(8)).toBe(1);
    expect(b.readBigUInt64LE(16)).toBe(0x1000n);
    expect(b.readBigUInt64LE(32)).toBe(300n);
    expect(b.readUInt32LE(40)).toBe(2);
    expect(b.readUInt32LE(44)).toBe(0xdeadbeef);
    expect(b.readUInt32LE(68)).toBe(7);
    expect(b.readUInt32LE(100)).toBe(5);
    expect(b.readUInt32LE(136)).toBe(5);
    expect(b.readUInt32LE(140)).toBe(1);
    expect(b.readBigUInt64LE(152)).toBe(0x1122334455667788n);
    expect(b.readUInt32LE(160)).toBe(6);
  });

  test('addresses wrap to 64 bits, as the device reads them', () => {
    const b = new CommandStream().timestamp(-1n).toBuffer();
    expect(b.readBigUInt64LE(8)).toBe(0xffff_ffff_ffff_ffffn);
  });
});

describe('Struct', () => {
  const S = defineStruct('t', [
    ['a', 'u32'],
    ['b', 'u64'],
    ['c', 's32'],
    ['name', 'u8[5]'],
    ['d', 's64'],
  ]);

  test('lays fields out with natural alignment', () => {
    expect(S.fields.b.offset).toBe(8);
    expect(S.fields.c.offset).toBe(16);
    expect(S.fields.name.offset).toBe(20);
    expect(S.fields.d.offset).toBe(32);
    expect(S.size).toBe(40);
  });

  test('reads back what it wrote, signed and unsigned', () => {
    const s = Struct.from(S, { a: 0xffff_ffff, b: 2n ** 63n, c: -5, d: -(2n ** 40n) });
    expect(s.num('a')).toBe(0xffff_ffff);
    expect(s.big('b')).toBe(2n ** 63n);
    expect(() => s.num('b')).toThrow(RangeError);
    expect(s.num('c')).toBe(-5);
    expect(s.big('d')).toBe(-(2n ** 40n));
    expect(() => s.set('name', 1)).toThrow(TypeError);
    expect(s.bytesOf('name').length).toBe(5);
  });
});

describe('errors', () => {
  test('a native error becomes an OssaError naming the ioctl', () => {
    const err = Object.assign(new Error('No such file or directory'), { errno: 2, code: 'ENOENT', syscall: 'ioctl' });
    const e = wrapNativeError(err, 'DRM_IOCTL_OSSA_BO_INFO', '/dev/accel/accel0');
    expect(e).toBeInstanceOf(OssaError);
    expect(e).toMatchObject({ errno: 2, code: 'ENOENT', ioctl: 'DRM_IOCTL_OSSA_BO_INFO' });
    expect((e as OssaError).message).toBe('DRM_IOCTL_OSSA_BO_INFO (/dev/accel/accel0): No such file or directory (ENOENT)');
    const other = new TypeError('not native');
    expect(wrapNativeError(other, 'x')).toBe(other);
  });

  test('a refused submission carries every job status', () => {
    const cause = new OssaError('DRM_IOCTL_OSSA_SUBMIT: Invalid argument (EINVAL)', 22, 'EINVAL', 'DRM_IOCTL_OSSA_SUBMIT');
    const e = new SubmitError(cause, [-125, -22]);
    expect(e).toBeInstanceOf(OssaError);
    expect(e.statuses).toEqual([-125, -22]);
    expect(e.message).toMatch(/job statuses: \[-125, -22\]/);
  });

  test('the binding reports errno, code and the system call', () => {
    try {
      native().open('/nonexistent/accel0', 2);
      expect.fail('open of a missing node succeeded');
    } catch (err) {
      expect(err).toMatchObject({ errno: 2, code: 'ENOENT', syscall: 'open' });
    }
    try {
      native().ioctl(1_000_000, 0, null);
      expect.fail('ioctl on a bad fd succeeded');
    } catch (err) {
      expect(err).toMatchObject({ errno: 9, code: 'EBADF', syscall: 'ioctl' });
    }
  });
});

describe('native mmap', () => {
  test('maps a file without copying; munmap detaches the view', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ossa-mmap-'));
    const file = join(dir, 'f');
    writeFileSync(file, Buffer.alloc(8192));
    const fd = openSync(file, 'r+');
    try {
      const ab = native().mmap(fd, 4096, 4096n, true);
      const view = new Uint8Array(ab);
      expect(view.length).toBe(4096);
      view[0] = 0xab;
      view[4095] = 0xcd;
      native().munmap(ab);
      expect(ab.byteLength).toBe(0);
      expect(() => native().munmap(ab)).not.toThrow();
    } finally {
      closeSync(fd);
    }
    const bytes = readFileSync(file);
    expect(bytes[4096]).toBe(0xab);
    expect(bytes[8191]).toBe(0xcd);
    expect(bytes[0]).toBe(0);
  });

  test('a bad mapping is refused with errno', () => {
    expect(() => native().mmap(1_000_000, 4096, 0n, true)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'mmap' }));
    expect(() => native().mmap(0, 0, 0n, true)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('native pollStart', () => {
  test('resolves 1 when the fd becomes readable, 0 on timeout, -1 when cancelled, without blocking the loop', async () => {
    // A FIFO: readable once something is written to it.
    const fifo = join(mkdtempSync(join(tmpdir(), 'ossa-poll-')), 'fifo');
    await execa('mkfifo', [fifo]);
    const r = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const w = openSync(fifo, constants.O_WRONLY);
    try {
      expect(await native().pollStart(r, false, 20).done).toBe(0);
      const cancelled = native().pollStart(r, false, 60_000);
      expect(native().pollCancel(cancelled.id)).toBe(true);
      expect(await cancelled.done).toBe(-1);
      expect(native().pollCancel(cancelled.id)).toBe(false);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const waiting = native().pollStart(r, false, 5000).done;
      setTimeout(() => writeSync(w, 'x'), 60);
      expect(await waiting).toBe(1);
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(3);
      // The write end has room: writable at once, even with no time to wait
      // (the loop runs due timers before it polls).
      expect(await native().pollStart(w, true, 5000).done).toBe(1);
      expect(await native().pollStart(w, true, 0).done).toBe(1);
      expect(await native().pollStart(r, false, 0).done).toBe(1);
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  test('a wait never times out early, even when the event loop was busy just before it started', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'ossa-poll-')), 'fifo');
    await execa('mkfifo', [fifo]);
    const r = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      // libuv's timers count from the time the loop last looked at the
      // clock: 300 ms of synchronous work, then a wait of 500 ms.
      const busy = Date.now() + 300;
      while (Date.now() < busy);
      const t0 = process.hrtime.bigint();
      expect(await native().pollStart(r, false, 500).done).toBe(0);
      const waitedMs = Number(process.hrtime.bigint() - t0) / 1e6;
      expect(waitedMs, `timed out after ${waitedMs.toFixed(0)} ms`).toBeGreaterThanOrEqual(499);
    } finally {
      closeSync(r);
    }
  });

  test('a bad fd or timeout is refused with errno', () => {
    expect(() => native().pollStart(-1, false, 10)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => native().pollStart(0, false, -5)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('ossa CLI without a device', () => {
  // The CLI as the package ships it (compiled, with its prebuilt addon).
  const cli = join(manifest.package.stage, 'bin/ossa.js');
  const ossa = (...args: string[]) => execa('node', [cli, ...args], { reject: false });

  test('usage errors exit 2 with a message', async () => {
    const r = await ossa('frobnicate');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
    expect((await ossa('copy')).exitCode).toBe(2);
    expect((await ossa('copy', '--size', '12Q')).stderr).toMatch(/not a size/);
    expect((await ossa('--bogus')).exitCode).toBe(2);
    expect((await ossa('run')).stderr).toMatch(/needs a job file/);
  });

  test('a missing device exits 3 naming the cause', async () => {
    const r = await ossa('info', '--device', '/nonexistent/accel9');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/open \(\/nonexistent\/accel9\): .*ENOENT/);
  });
});
