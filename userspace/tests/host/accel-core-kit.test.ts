/**
 * The accel-core kit without a device: it imports nothing of ossa (its
 * import graph reaches only the kit and the DRM core's layouts, the ioctl
 * numbering and the syscall binding), its runner reports pass, failure,
 * skip and a hung test, and a module that is no adapter is refused.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { AdapterError, loadAdapter } from '../../src/accel-core/adapter.js';
import { runChildren } from '../../src/accel-core/children.js';
import { ktap } from '../../src/accel-core/ktap.js';
import { runTier } from '../../src/accel-core/run.js';
import { type CoreTest, NO_ADAPTER } from '../../src/accel-core/tier.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** What the kit may use outside its folder: generic DRM layouts, ioctl numbers, struct packing, the syscall binding. */
const GENERIC = ['drm.ts', 'ioctl.ts', 'struct.ts', 'native.ts'];

/**
 * Every file of `src` that the kit's files reach through their imports
 * (static, re-exports and dynamic imports of a literal), as paths
 * relative to `src`; node: modules left out.
 */
function kitClosure(src: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const ref of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      visit(resolve(dirname(file), ref.fileName.replace(/\.js$/, '.ts')));
    }
  };
  const kit = join(src, 'accel-core');
  for (const f of readdirSync(kit)) if (f.endsWith('.ts')) visit(join(kit, f));
  return [...seen].map((f) => relative(src, f)).sort();
}

/** What the closure holds beyond the kit and GENERIC. */
const outside = (closure: readonly string[]): string[] => closure.filter((f) => !f.startsWith('accel-core/') && !GENERIC.includes(f));

describe('the accel-core kit imports nothing of ossa', () => {
  test('its import graph reaches only its own files and the generic DRM layer', () => {
    const closure = kitClosure(SRC);
    expect(closure).toContain('accel-core/tier.ts');
    expect(outside(closure)).toEqual([]);
    // The generic layer itself names no ossa ioctl or struct.
    for (const f of GENERIC) expect({ f, ossa: /DRM_IOCTL_OSSA|drm_ossa_|uapi\.js/.test(readFileSync(join(SRC, f), 'utf8')) }).toEqual({ f, ossa: false });
  });

  test('the check finds a kit file that imports the uapi, directly or through a generic file', () => {
    const copy = mkdtempSync(join(tmpdir(), 'kit-'));
    cpSync(SRC, copy, { recursive: true });
    writeFileSync(join(copy, 'accel-core', 'extra.ts'), "import { DRM_IOCTL_OSSA_BO_CREATE } from '../uapi.js';\nexport const x = DRM_IOCTL_OSSA_BO_CREATE;\n");
    expect(outside(kitClosure(copy))).toContain('uapi.ts');
    const twice = mkdtempSync(join(tmpdir(), 'kit-'));
    cpSync(SRC, twice, { recursive: true });
    writeFileSync(join(twice, 'struct.ts'), `${readFileSync(join(SRC, 'struct.ts'), 'utf8')}\nexport const later = () => import('./device.js');\n`);
    expect(outside(kitClosure(twice))).toContain('device.ts');
  });
});

describe('runTier', () => {
  const tests: CoreTest[] = [
    { group: 'g1', name: 'passes', run: () => {} },
    { group: 'g1', name: 'fails', run: () => Promise.reject(new Error('expected 1, got 2')) },
    // Fails in its own time, whatever its message says.
    { group: 'g1', name: 'fails quickly', run: () => Promise.reject(new Error('did not finish within 9 s')) },
    { group: 'g2', name: 'needs buffers', buffers: true, run: () => {} },
    { group: 'g2', name: 'hangs', run: () => new Promise<void>(() => {}) },
  ];

  test('each state, grouped in order; a buffer test without an adapter is skipped, a hung one fails at its timeout', async () => {
    const lines: string[] = [];
    const late: string[] = [];
    const results = await runTier(tests, { node: '/dev/null' }, { timeoutMs: 200, onLine: (l) => lines.push(l), onTimeout: (t) => late.push(t.name) });
    expect(results).toEqual([
      {
        name: 'g1',
        subtests: [
          { name: 'passes', state: 'pass' },
          { name: 'fails', state: 'fail', message: 'expected 1, got 2' },
          { name: 'fails quickly', state: 'fail', message: 'did not finish within 9 s' },
        ],
      },
      {
        name: 'g2',
        subtests: [
          { name: 'needs buffers', state: 'skip', message: NO_ADAPTER },
          { name: 'hangs', state: 'fail', message: 'did not finish within 0.2 s' },
        ],
      },
    ]);
    expect(ktap(results)).toContain('    # Subtest: g2\n    1..2\n    ok 1 needs buffers # SKIP needs buffers: no adapter');
    // A failure's line that would read as a subtest header does not.
    expect(ktap([{ name: 'g', subtests: [{ name: 't', state: 'fail', message: 'Subtest: x' }] }])).toContain('    # Subtest - x\n    not ok 1 t');
    // The lines as they came are the document.
    expect(`${lines.join('\n')}\n`).toBe(ktap(results));
    // Only the test that ran out of time is reported as such.
    expect(late).toEqual(['hangs']);
  });
});

describe('runChildren', () => {
  test('an abort kills the children and rejects: a timed-out test leaves no process behind', async () => {
    const controller = new AbortController();
    let pid = 0;
    const run = runChildren("report(process.pid); setInterval(() => {}, 1000);", 1, {
      signal: controller.signal,
      whileHeld: ([first]) => {
        pid = Number(first);
        controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/child 0 exited with null/);
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});

describe('loadAdapter', () => {
  test('a module without an adapter, or a file that is not there, is refused with what is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adapter-'));
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'half.mjs'), "export const adapter = { driver: 'x', createBuffer() { return 1; } };\n");
    await expect(loadAdapter(join(dir, 'm', 'half.mjs'))).rejects.toThrow(AdapterError);
    await expect(loadAdapter(join(dir, 'm', 'half.mjs'))).rejects.toThrow(/exports no adapter: it needs `export const adapter` with driver, createBuffer\(file, size\), mmapOffset/);
    await expect(loadAdapter(join(dir, 'none.mjs'))).rejects.toThrow(/cannot load the adapter module file:.*none\.mjs/);
    writeFileSync(join(dir, 'm', 'whole.mjs'), "export const adapter = { driver: 'x', createBuffer: () => 1, mmapOffset: () => 0n, ioctls: { createBuffer: 'C', mmapOffset: 'M' } };\n");
    expect((await loadAdapter(join(dir, 'm', 'whole.mjs'))).adapter.driver).toBe('x');
  });
});
