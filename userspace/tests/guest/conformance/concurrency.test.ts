/**
 * Tier 2, ossa: several processes and worker threads submitting at once,
 * and isolation: a context can never read another's buffers.
 */
import { fork } from 'node:child_process';
import { closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { CommandStream, Device } from '../../../src/index.js';
import { Prng } from '../../../src/prng.js';
import { bytesU32, refFmaF32 } from '../../../src/reference.js';
import { WAIT_MS } from '../support/ossa.js';

const rng = (i: number): Prng => new Prng(0x1000 + i);

/**
 * One client: its own file, buffers and jobs on both queues; every result
 * checked. Runs as a child process or a worker thread (same code).
 */
const CLIENT = `
const { Device, CommandStream } = await import(process.env.OSSA_LIB);
const { refCrc32c } = await import(process.env.OSSA_REF);
const id = Number(process.env.OSSA_CLIENT ?? (await import('node:worker_threads')).workerData);
const dev = Device.open();
const src = dev.createBuffer(1 << 18);
const dst = dev.createBuffer(1 << 18);
const out = dev.createBuffer(4096);
const s = src.map();
for (let i = 0; i < s.length; i++) s[i] = (i * 31 + id) & 0xff;
let ok = 0;
for (let round = 0; round < 6; round++) {
  const f = dev.submit({
    queue: round % 2,
    commands: new CommandStream().copy(src.va, dst.va, 1 << 18).fill(out.va, 64, id).crc32c(dst.va, 1 << 18, out.va + 64n).fence(out.va + 72n, BigInt(round)),
    buffers: [{ buffer: src, access: 'read' }, dst, out],
  });
  const st = await f.settle(${WAIT_MS});
  f.close();
  const o = Buffer.from(out.map());
  if (st.state !== 'signaled') throw new Error('client ' + id + ' round ' + round + ': ' + JSON.stringify(st));
  if (o.readUInt32LE(0) !== id || o.readUInt32LE(64) !== refCrc32c(s) || o.readBigUInt64LE(72) !== BigInt(round)) throw new Error('client ' + id + ': wrong results');
  ok++;
}
src.close(); dst.close(); out.close(); dev.close();
const msg = 'ok ' + id + ' ' + ok;
if (process.send) process.send(msg); else (await import('node:worker_threads')).parentPort.postMessage(msg);
`;

function clientScript(): string {
  const file = join(tmpdir(), 'ossa-client.mjs');
  writeFileSync(file, CLIENT);
  return file;
}

const libEnv = (): Record<string, string> => ({
  OSSA_LIB: new URL('../../../src/index.js', import.meta.url).href,
  OSSA_REF: new URL('../../../src/reference.js', import.meta.url).href,
});

describe('concurrency', () => {
  test(
    covers(['SUBMIT', 'BO_CREATE', 'BO_WAIT', 'SYNCOBJ_WAIT', 'SYNCOBJ_SIGNAL', 'SYNCOBJ_FD_TO_HANDLE', 'PRIME_FD_TO_HANDLE', 'COPY', 'FILL', 'CRC32C', 'FENCE', 'GET_PARAM'], 'concurrency', '4 processes and 4 worker threads submit at once; every result is right'),
    async () => {
      const script = clientScript();
      const env = { ...process.env, ...libEnv() };
      const procs = Array.from(
        { length: 4 },
        (_, i) =>
          new Promise<string>((resolve, reject) => {
            const child = fork(script, [], { env: { ...env, OSSA_CLIENT: String(i + 1) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
            let msg = '';
            child.on('message', (m) => (msg = String(m)));
            child.on('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`client process ${i + 1} exited with ${code}`))));
          }),
      );
      Object.assign(process.env, libEnv());
      const threads = Array.from(
        { length: 4 },
        (_, i) =>
          new Promise<string>((resolve, reject) => {
            const w = new Worker(script, { workerData: i + 11 });
            let msg = '';
            w.on('message', (m) => (msg = String(m)));
            w.on('error', reject);
            w.on('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`worker ${i + 11} exited with ${code}`))));
          }),
      );
      // Meanwhile, this thread shares buffers and syncobjs across files.
      using a = Device.open();
      using b = Device.open();
      using bo = a.createBuffer(1 << 16);
      const fd = a.exportBuffer(bo);
      using imported = b.importBuffer(fd);
      // a's job signals s; b's job, in another file, waits for it through an imported copy.
      using work = a.createBuffer(4 << 20);
      using s = a.createSyncobj();
      using first = a.submit({ commands: new CommandStream().fill(work.va, 4 << 20, 1), buffers: [work], signal: s });
      const sfd = s.exportFd();
      using t = b.importSyncobj(sfd);
      closeSync(sfd);
      using f = b.submit({ commands: new CommandStream().fill(imported.va, 1 << 16, 77), buffers: [imported], waitFor: [t] });
      expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
      expect(await first.settle(0)).toEqual({ state: 'signaled' });
      closeSync(fd);
      expect(await bo.wait(WAIT_MS)).toBe('success');
      expect(Buffer.from(bo.map()).readUInt32LE(0)).toBe(77);
      expect(a.param('numQueues')).toBe(2n);
      const results = await Promise.all([...procs, ...threads]);
      expect(results.sort()).toEqual(['ok 1 6', 'ok 11 6', 'ok 12 6', 'ok 13 6', 'ok 14 6', 'ok 2 6', 'ok 3 6', 'ok 4 6']);
    },
    120_000,
  );

  test(covers(['FMA_F32', 'NOP', 'SUBMIT'], 'concurrency', 'FMA_F32 and NOP jobs from 4 files at once on both queues'), async () => {
    const files = Array.from({ length: 4 }, () => Device.open());
    try {
      const n = 8192;
      const runs = files.map(async (dev, i) => {
        using bo = dev.createBuffer(n * 16);
        const words = bytesU32(rng(i).bytes(n * 12));
        bo.map().set(Buffer.from(words.buffer, words.byteOffset, n * 12));
        const va = bo.va;
        using f = dev.submit({
          queue: i % 2,
          commands: new CommandStream().nop().fmaF32(n, va, va + BigInt(n * 4), va + BigInt(n * 8), va + BigInt(n * 12)).nop(),
          buffers: [bo],
        });
        expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
        const want = refFmaF32(words.slice(0, n), words.slice(n, 2 * n), words.slice(2 * n, 3 * n));
        const got = bytesU32(Buffer.from(bo.map()).subarray(n * 12, n * 16));
        expect(Array.from(got)).toEqual(Array.from(want));
      });
      await Promise.all(runs);
    } finally {
      for (const f of files) f.close();
    }
  });

  test(covers(['SUBMIT', 'COPY', 'BO_CREATE'], 'concurrency', "isolation: the same VA in another context never reaches this file's secret"), async () => {
    using a = Device.open();
    using b = Device.open();
    using secret = a.createBuffer(1 << 16);
    secret.map().fill(0x5e);
    using mine = b.createBuffer(1 << 16);
    using out = b.createBuffer(1 << 16);
    // b copies from a's VA: either it faults, or it reads b's own memory.
    using f = b.submit({ commands: new CommandStream().copy(secret.va, out.va, 1 << 16), buffers: [mine, out] });
    const st = await f.settle(WAIT_MS);
    if (st.state === 'signaled') expect(out.map().includes(0x5e)).toBe(false);
    else expect(st).toEqual({ state: 'error', errno: 14 });
    // And a's buffer is untouched.
    expect(secret.map().every((x) => x === 0x5e)).toBe(true);
  });
});
