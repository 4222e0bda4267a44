/**
 * `ossa conformance --tier core`: the accel-core kit run as a tool, the
 * way a lab runs it against any accel node. KTAP on stdout, an adapter
 * built in, given as a file, or none; bad usage and bad adapters refused
 * with a message; a driver that breaks a rule fails the tier.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { CORE_TESTS, NO_ADAPTER, UNMET } from '../../src/accel-core/index.js';
import { DRM_IOCTL_OSSA_BO_CREATE, DRM_IOCTL_OSSA_BO_MMAP_OFFSET, DrmOssaBoCreate, DrmOssaBoMmapOffset } from '../../src/uapi.js';
import { ossaNode } from './support/ossa.js';

const run = promisify(execFile);

async function ossa(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('/bin/ossa', args, { timeout: 600_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * A driver author's adapter for ossa, written from the uapi header alone
 * (request numbers and offsets of <drm/ossa_accel.h>) as a plain module
 * outside the package; `shift` moves the mmap offset it reports.
 */
function adapterFile(driver: string, shift = 0n): string {
  const dir = mkdtempSync(join(tmpdir(), 'adapter-'));
  const file = join(dir, 'adapter.mjs');
  const c = DrmOssaBoCreate.fields;
  const m = DrmOssaBoMmapOffset.fields;
  writeFileSync(
    file,
    `export const adapter = {
  driver: ${JSON.stringify(driver)},
  createBuffer(file, size) {
    const b = Buffer.alloc(${DrmOssaBoCreate.size});
    b.writeBigUInt64LE(BigInt(size), ${c.size.offset});
    file.ioctl('BO_CREATE', ${DRM_IOCTL_OSSA_BO_CREATE}, b);
    return b.readUInt32LE(${c.handle.offset});
  },
  mmapOffset(file, handle) {
    const b = Buffer.alloc(${DrmOssaBoMmapOffset.size});
    b.writeUInt32LE(handle, ${m.handle.offset});
    file.ioctl('BO_MMAP_OFFSET', ${DRM_IOCTL_OSSA_BO_MMAP_OFFSET}, b);
    return b.readBigUInt64LE(${m.offset.offset}) + ${shift}n;
  },
  ioctls: { createBuffer: 'BO_CREATE', mmapOffset: 'BO_MMAP_OFFSET' },
};
`,
  );
  return file;
}

/** The result lines of a KTAP document, nested ones included: [state, name, directive]. */
function results(ktap: string): Array<[string, string, string]> {
  return [...ktap.matchAll(/^ *(ok|not ok) \d+ ([^#\n]*?)(?: # (.*))?$/gm)].map((r) => [r[1] as string, (r[2] as string).trim(), r[3] ?? '']);
}

const groups = [...new Set(CORE_TESTS.map((t) => t.group))];
const withBuffers = CORE_TESTS.filter((t) => t.buffers).length;
const masterIoctls = CORE_TESTS.filter((t) => t.needs?.includes('master-ioctls')).length;

describe('ossa conformance --tier core', () => {
  test('with the adapter built in for ossa: KTAP version 1, a subtest per group, every test ok, exit 0', async () => {
    // ossa guards GET_UNIQUE and GET_MAGIC: --master-ioctls calls them.
    const r = await ossa('conformance', '--tier', 'core', '--device', ossaNode(), '--master-ioctls');
    expect(r.stderr).toMatch(new RegExp(`driver ossa .*adapter: .*ossa-adapter\\.js\\): ${CORE_TESTS.length} passed, 0 failed, 0 skipped`));
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual(['KTAP version 1', `1..${groups.length}`]);
    const all = results(r.stdout);
    // Each test, then its group's line.
    expect(all).toHaveLength(CORE_TESTS.length + groups.length);
    expect(all.filter(([state]) => state !== 'ok')).toEqual([]);
    for (const g of groups) expect(r.stdout).toContain(`    # Subtest: ${g}\n`);
    // Without --master-ioctls those two are not called, and the test says why.
    const safe = await ossa('conformance', '--tier', 'core', '--filter', 'GET_UNIQUE');
    expect(safe.code).toBe(0);
    expect(safe.stdout).toContain(` GET_UNIQUE and GET_MAGIC are EACCES, as on a render node # SKIP ${UNMET['master-ioctls']}\n`);
  });

  test('with --adapter none: the tests that need buffers are skipped, saying why; the rest pass', async () => {
    const r = await ossa('conformance', '--tier', 'core', '--adapter', 'none', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { counts: Record<string, number>; adapter: { none: string }; results: Array<{ subtests: Array<{ state: string; message?: string }> }> };
    expect(out.counts).toEqual({ pass: CORE_TESTS.length - withBuffers - masterIoctls, fail: 0, skip: withBuffers + masterIoctls });
    expect(out.adapter.none).toMatch(/--adapter none/);
    const skipped = out.results.flatMap((g) => g.subtests).filter((t) => t.state === 'skip' && t.message !== UNMET['master-ioctls']);
    expect(skipped.map((t) => t.message)).toEqual(Array.from({ length: withBuffers }, () => NO_ADAPTER));
    // The mmap tests all need a buffer: each is skipped, and so is their group.
    const text = await ossa('conformance', '--tier', 'core', '--adapter', 'none', '--filter', 'mmap');
    expect(results(text.stdout).filter(([, , d]) => d.startsWith('SKIP'))).toHaveLength(CORE_TESTS.filter((t) => t.group.includes('mmap')).length + 1);
    expect(text.stdout).toMatch(/^ok 1 accel core: mmap offsets # SKIP$/m);
  });

  test("an adapter from a file, written from the uapi header alone, runs the buffer tests", async () => {
    const r = await ossa('conformance', '--tier', 'core', '--adapter', adapterFile('ossa'), '--filter', 'mmap');
    expect(r.stderr).toMatch(/adapter: file:.*adapter\.mjs\): 3 passed, 0 failed, 0 skipped/);
    expect(r.code).toBe(0);
  });

  test('a driver that breaks a rule fails the tier: an mmap offset that points at no buffer fails the test that maps it, exit 1', async () => {
    const r = await ossa('conformance', '--tier', 'core', '--adapter', adapterFile('ossa', 1n << 32n), '--filter', 'mmap');
    expect(r.code).toBe(1);
    const failed = results(r.stdout).filter(([state]) => state === 'not ok').map(([, name]) => name);
    // The offsets stay page-aligned and distinct, and mapping past a
    // buffer still fails; mapping the buffer itself does not work.
    expect(failed).toEqual(["a mapping outlives the handle; another file cannot map the buffer's offset", 'accel core: mmap offsets']);
    expect(r.stdout).toMatch(/^ {4}# .*EINVAL/m);
    expect(r.stderr).toMatch(/2 passed, 1 failed, 0 skipped/);
  });

  test('bad usage and bad adapters exit 2 with a message, a node that is no DRM device exits 3', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['conformance'], 2, /conformance needs --tier \(core\)/],
      [['conformance', '--tier', 'gpu'], 2, /--tier gpu: no such tier \(core\)/],
      [['conformance', '--tier', 'core', '--filter', 'no such test'], 2, /--filter no such test: no test of tier core/],
      [['conformance', '--tier', 'core', '--adapter', '/nonexistent/adapter.mjs'], 2, /cannot load the adapter module file:\/\/\/nonexistent\/adapter\.mjs/],
      [['conformance', '--tier', 'core', '--adapter', adapterFile('rocket')], 2, /is an adapter for "rocket", but .* is driven by "ossa"/],
      [['conformance', '--tier', 'core', '--device', '/dev/null'], 3, /ossa: DRM_IOCTL_VERSION: .*\(ENOTTY\)/],
      [['conformance', '--tier', 'core', '--device', '/dev/accel/nonexistent'], 3, /ossa: open \/dev\/accel\/nonexistent: .*\(ENOENT\)/],
    ];
    for (const [args, code, message] of cases) {
      const r = await ossa(...args);
      expect({ args, code: r.code, stderr: r.stderr }).toMatchObject({ args, code, stderr: expect.stringMatching(message) });
    }
  });
});
