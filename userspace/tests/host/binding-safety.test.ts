/**
 * The native binding's own safety, on the host (no device needed): it
 * refuses an ioctl argument shorter than the request's size (and a value
 * argument for a request that takes a pointer), names every
 * errno, has its mappings counted as external memory once, and cleans up
 * what a Worker leaves behind when it exits.
 */
import { constants, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, closeSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { readManifest } from '../../../ci/lib/manifest.js';
import { iowr } from '../../src/ioctl.js';
import { native } from '../../src/native.js';
import { DRM_IOCTL_OSSA_BO_INFO } from '../../src/uapi.js';

process.env.OSSA_NATIVE_BINDING ??= (await readManifest()).nativeBinding;

const scratch = (): string => mkdtempSync(join(tmpdir(), 'ossa-binding-'));

describe('ioctl argument size', () => {
  test('an argument shorter than the request encodes is refused before the kernel sees it', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      // BO_INFO is _IOWR with 24 bytes: the kernel would write 24 bytes
      // into whatever the pointer points to.
      for (const arg of [new Uint8Array(1), new Uint8Array(23), new Uint32Array(5), null]) {
        expect(() => native().ioctl(fd, DRM_IOCTL_OSSA_BO_INFO, arg), `${arg?.byteLength ?? 'null'} bytes`).toThrow(
          expect.objectContaining({ code: 'EINVAL', syscall: 'ioctl', message: expect.stringMatching(/takes 24/) }),
        );
      }
      // Long enough: the call reaches /dev/null, which has no ioctls.
      for (const arg of [new Uint8Array(24), new BigUint64Array(4)]) {
        expect(() => native().ioctl(fd, DRM_IOCTL_OSSA_BO_INFO, arg)).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
      }
      // A request without a size takes any argument.
      expect(() => native().ioctl(fd, iowr(0x64, 0x40, 0) & ~(3 << 30), null)).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
    } finally {
      closeSync(fd);
    }
  });
});

describe('ioctl with a value argument', () => {
  test('a request that encodes a size or a direction takes a pointer, and is refused before the kernel sees it', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      expect(() => native().ioctlValue(fd, DRM_IOCTL_OSSA_BO_INFO, 1)).toThrow(
        expect.objectContaining({ code: 'EINVAL', syscall: 'ioctl', message: expect.stringMatching(/takes a pointer/) }),
      );
      // _IO(';', 101), VFIO_CHECK_EXTENSION: a value goes through; /dev/null has no ioctls.
      expect(() => native().ioctlValue(fd, iowr(0x3b, 101, 0) & ~(3 << 30), 3)).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
    } finally {
      closeSync(fd);
    }
  });
});

describe('memfd', () => {
  test('an anonymous shmem file of the size asked, mapped shared; a size of 0 is refused', () => {
    const fd = native().memfd('ossa-test', 3 * 4096);
    try {
      expect(fstatSync(fd).size).toBe(3 * 4096);
      const a = native().mmap(fd, 3 * 4096, 0n, true);
      const b = native().mmap(fd, 4096, 4096n, true);
      new Uint8Array(a)[4096] = 0x5a;
      expect(new Uint8Array(b)[0]).toBe(0x5a);
      native().munmap(a);
      native().munmap(b);
    } finally {
      native().close(fd);
    }
    expect(() => native().memfd('ossa-test', 0)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'memfd_create' }));
  });
});

describe('errno names', () => {
  test('every errno has its name, not EUNKNOWN', () => {
    expect(() => native().open(`/${'x'.repeat(5000)}`, 0)).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG', errno: 36 }));
    // A symlink to itself: ELOOP.
    const loop = join(scratch(), 'loop');
    symlinkSync(loop, loop);
    expect(() => native().open(loop, 0)).toThrow(expect.objectContaining({ code: 'ELOOP', errno: 40 }));
  });
});

describe('mappings as external memory', () => {
  // V8 counts an external ArrayBuffer by itself: reported again with
  // napi_adjust_external_memory(), a mapping would count twice.
  test('a mapping counts once in process.memoryUsage().external while it is mapped', () => {
    const size = 64 << 20;
    const file = join(scratch(), 'f');
    writeFileSync(file, Buffer.alloc(0));
    truncateSync(file, size);
    const fd = openSync(file, 'r+');
    try {
      const before = process.memoryUsage().external;
      const ab = native().mmap(fd, size, 0n, true);
      const mapped = process.memoryUsage().external;
      native().munmap(ab);
      const after = process.memoryUsage().external;
      const slack = 1 << 20;
      expect(mapped - before).toBeGreaterThanOrEqual(size);
      expect(mapped - before).toBeLessThan(size + slack);
      expect(mapped - after).toBeGreaterThanOrEqual(size);
      expect(mapped - after).toBeLessThan(size + slack);
    } finally {
      closeSync(fd);
    }
  });
});

describe('a Worker that exits without cleaning up', () => {
  test('its files are closed, its mappings unmapped and its waits stopped, and the process lives on', async () => {
    const dir = scratch();
    const file = join(dir, 'mapped');
    writeFileSync(file, Buffer.alloc(8192));
    const fifo = join(dir, 'fifo');
    await execa('mkfifo', [fifo]);
    const fifoRead = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const fifoWrite = openSync(fifo, constants.O_WRONLY);
    const openFds = (): string[] =>
      readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          return [readlinkSync(`/proc/self/fd/${fd}`)];
        } catch {
          return [];
        }
      });
    try {
      // The Worker opens the file through the binding, maps it, starts a
      // wait on a FIFO nobody writes to, and ends with all three pending.
      const worker = new Worker(
        `
        const { workerData, parentPort } = require('node:worker_threads');
        const b = require(workerData.binding);
        const fd = b.open(workerData.file, 2);
        const ab = b.mmap(fd, 8192, 0n, true);
        new Uint8Array(ab)[0] = 7;
        const waitFd = require('node:fs').openSync(workerData.fifo, 'r');
        b.pollStart(waitFd, false, 60000);
        parentPort.postMessage('ready');
        `,
        { eval: true, workerData: { binding: process.env.OSSA_NATIVE_BINDING, file, fifo } },
      );
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      expect(openFds().filter((p) => p === file)).toHaveLength(1);
      expect(readFileSync('/proc/self/maps', 'utf8')).toContain(file);
      const code = await worker.terminate();
      expect(code).toBe(1);
      expect(openFds().filter((p) => p === file || p === fifo)).toEqual([fifo, fifo]);
      expect(readFileSync('/proc/self/maps', 'utf8')).not.toContain(file);
    } finally {
      closeSync(fifoRead);
      closeSync(fifoWrite);
    }
  });
});
