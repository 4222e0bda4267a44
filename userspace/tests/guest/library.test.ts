/**
 * The library and the CLI, in the guest: a 64 MiB copy verified, every
 * command against the reference, and the `ossa` tool's commands.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { Device } from '../../src/index.js';
import { deviceCopy, selftest } from '../../src/selftest.js';
import { OSSA_UAPI_MAJOR } from '../../src/uapi.js';

const run = promisify(execFile);

async function ossa(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('/bin/ossa', args);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('library', () => {
  test('copies 64 MiB with the device and verifies it', async () => {
    using dev = Device.open();
    const r = await deviceCopy(dev, 64 << 20);
    expect(r.verified).toBe(true);
  });

  test('every command matches the reference (selftest)', async () => {
    using dev = Device.open();
    const results = await selftest(dev);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(['copy', 'fill', 'crc32c', 'fma_f32', 'fence+timestamp']);
  });
});

describe('ossa CLI', () => {
  test('ossa info prints the device', async () => {
    const text = await ossa('info');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`driver\\s+ossa ${OSSA_UAPI_MAJOR}\\.0\\.0`));
    const json = await ossa('info', '--json');
    using dev = Device.open();
    // The tool reports what GET_PARAM says, not a number of its own.
    expect(JSON.parse(json.stdout)).toMatchObject({
      driver: { name: 'ossa' },
      numQueues: Number(dev.param('numQueues')),
      maxBoSize: Number(dev.param('maxBoSize')),
      hwVersion: { major: 1, minor: 1 },
    });
  });

  test('ossa copy --size 1M --json verifies', async () => {
    const r = await ossa('copy', '--size', '1M', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ bytes: 1 << 20, verified: true });
  });

  test('ossa run runs a job file and dumps the result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ossa-job-'));
    const file = join(dir, 'job.json');
    writeFileSync(
      file,
      JSON.stringify({
        buffers: { src: { size: 4096, init: { byte: 0x31 } }, dst: { size: 4096 } },
        commands: [
          { op: 'copy', src: 'src', dst: 'dst', size: 9 },
          { op: 'crc32c', src: 'dst', size: 9, dst: 'dst+16' },
          { op: 'fence', addr: 'dst+24', value: 7, irq: true },
        ],
        dump: [{ buffer: 'dst', offset: 0, length: 32 }],
      }),
    );
    const r = await ossa('run', file, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { state: string; dumps: Array<{ hex: string }> };
    expect(out.state).toBe('signaled');
    const bytes = Buffer.from(out.dumps[0]?.hex ?? '', 'hex');
    expect(bytes.subarray(0, 9).toString()).toBe('111111111');
    expect(bytes.readBigUInt64LE(24)).toBe(7n);
  });

  test('bad usage and bad job files exit 2 with a message; a faulting job exits 1', async () => {
    expect((await ossa('frobnicate')).code).toBe(2);
    expect((await ossa('copy', '--size', 'lots')).code).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), 'ossa-job-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ buffers: { a: { size: 4096 } }, commands: [{ op: 'copy', src: 'a', dst: 'nowhere', size: 1 }] }));
    const r = await ossa('run', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/commands\[0\]\.dst: no buffer "nowhere"/);
    const fault = join(dir, 'fault.json');
    writeFileSync(fault, JSON.stringify({ buffers: { a: { size: 4096 } }, commands: [{ op: 'fill', dst: 'a+4096', size: 8, value: 1 }] }));
    const f = await ossa('run', fault, '--json');
    expect(f.code).toBe(1);
    expect(JSON.parse(f.stdout)).toMatchObject({ state: 'error', errno: 14 });
  });
});
