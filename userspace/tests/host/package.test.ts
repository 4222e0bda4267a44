/**
 * The library as users get it: the tarball `npm pack` made (the build's
 * `package` step) installs into an empty folder with npm, offline; its
 * `ossa` runs without tsx or the checkout; its exports and types resolve
 * for a TypeScript user.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { readManifest } from '../../../ci/lib/manifest.js';
import { repoRoot } from '../../../ci/lib/paths.js';

const { package: pkg } = await readManifest();
const meta = JSON.parse(readFileSync(join(repoRoot, 'userspace/package.json'), 'utf8')) as { name: string; version: string };

// Nothing of the checkout's: no binding path, no node_modules above.
const env = { ...process.env, OSSA_NATIVE_BINDING: '', NODE_PATH: '' };
let dir = '';
const ossa = (...args: string[]) => execa(join(dir, 'node_modules/.bin/ossa'), args, { cwd: dir, env, reject: false });

describe('the npm package', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ossa-install-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ossa-user', private: true, type: 'module' }));
    await execa('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', pkg.tarball], { cwd: dir, env });
  }, 120_000);

  test('holds the compiled library, its types, the CLI and the prebuilt addon, and nothing of the sources or tests', async () => {
    const { stdout } = await execa('tar', ['-tzf', pkg.tarball]);
    const files = stdout.split('\n');
    for (const f of ['package.json', 'README.md', 'bin/ossa.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'prebuilds/linux-x64/ossa_native.node', 'native/ossa_native.c']) {
      expect(files).toContain(`package/${f}`);
    }
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /tests?\//.test(f))).toEqual([]);
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules', meta.name, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(installed).not.toHaveProperty('dependencies');
  });

  test('ossa --version and ossa list run from the installed package', async () => {
    const v = await ossa('--version');
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stdout).toBe(`${meta.name} ${meta.version} (ossa uapi 2)`);
    const l = await ossa('list');
    expect(l.exitCode, l.stderr).toBe(0);
    const j = await ossa('-L', '--json');
    expect(j.exitCode, j.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(j.stdout))).toBe(true);
  });

  test('bad usage: the message and the usage on stderr, nothing on stdout, exit 2; help on stdout, exit 0', async () => {
    const none = await ossa();
    expect(none.exitCode).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^ossa: no command given\n\nusage: ossa <command>/);
    const bad = await ossa('copy', '--sise', '4K');
    expect(bad.exitCode).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/--sise/);
    expect(bad.stderr).toMatch(/usage: ossa copy --size N/);
    for (const args of [['help', 'copy'], ['copy', '--help'], ['copy', '-h']]) {
      const h = await ossa(...args);
      expect(h.exitCode, args.join(' ')).toBe(0);
      expect(h.stdout).toMatch(/^usage: ossa copy --size N/);
    }
    const all = await ossa('--help');
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toMatch(/commands:\n(.|\n)*list(.|\n)*help/);
  });

  test('imports as ESM with its types: a TypeScript user type-checks against the declarations', async () => {
    const keys = await execa('node', ['--input-type=module', '-e', `const m = await import('${meta.name}'); console.log(Object.keys(m).sort().join(' '))`], { cwd: dir, env });
    for (const name of ['Device', 'CommandStream', 'OssaError', 'Struct', 'accelNodes', 'DRM_IOCTL_OSSA_SUBMIT', 'OSSA_UAPI_MAJOR', 'DrmOssaJob']) {
      expect(keys.stdout.split(' ')).toContain(name);
    }
    writeFileSync(
      join(dir, 'use.ts'),
      `import { CommandStream, Device, OssaError, type JobSpec } from '${meta.name}';
import { type AccelAdapter, CORE_TESTS, runTier } from '${meta.name}/accel-core';
import { OssaUserDriver, type UserJobResult } from '${meta.name}/userspace-driver';
// The device from userspace, typed as a user would drive it.
export async function direct(bdf: string): Promise<UserJobResult> {
  using drv = OssaUserDriver.open({ bdf, via: 'vfio' });
  return drv.run(new CommandStream().nop());
}
const job: JobSpec = { commands: new CommandStream().nop() };
// A driver author's adapter, checked against the kit's types.
export const adapter: AccelAdapter = {
  driver: 'mine',
  createBuffer: (file, size) => file.ioctl('CREATE', 0, Buffer.alloc(size)),
  mmapOffset: () => 0n,
  ioctls: { createBuffer: 'CREATE', mmapOffset: 'MMAP' },
};
export const tier = (node: string) => runTier(CORE_TESTS, { node, adapter: { adapter, module: import.meta.url } });
export async function run(): Promise<string> {
  try {
    using dev = Device.open();
    return (await dev.submit(job).settle(1000)).state;
  } catch (err) {
    return err instanceof OssaError ? err.code : 'other';
  }
}
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', lib: ['ES2023', 'ESNext.Disposable'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [], typeRoots: [join(repoRoot, 'node_modules/@types')] },
        files: ['use.ts'],
      }),
    );
    const tsc = await execa(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', dir, '--types', 'node'], { cwd: dir, reject: false });
    expect(tsc.exitCode, tsc.stdout).toBe(0);
  });
});
