/**
 * The build cache shared by clones: one build of an entry at a time across
 * processes, a lock that dies with its holder, pruning by age and size, and
 * `npm run clean`.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashInputs } from '../lib/cache.js';
import { acquireLock } from '../lib/cache-lock.js';
import { type CacheEntry, choosePrune, listEntries, pruneCache } from '../lib/cache-prune.js';
import { repoRoot } from '../lib/paths.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ossa-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `code` (an ES module body with top-level await) in a new Node process with tsx, the cache at `cache`. */
function node(code: string, cache: string) {
  return execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: repoRoot,
    env: { OSSA_CACHE_DIR: cache },
    all: true,
  });
}
const lib = (f: string): string => JSON.stringify(join(repoRoot, 'ci/lib', f));

describe('the lock', () => {
  it('makes a second process wait until the first releases it', async () => {
    const path = join(dir, 'a.lock');
    const release = await acquireLock(path, 'test');
    const other = node(`const { acquireLock } = await import(${lib('cache-lock.ts')}); const r = await acquireLock(${JSON.stringify(path)}, 'other'); console.log('got it'); await r();`, dir);
    // Released only once the other process says that it waits.
    let said = '';
    await new Promise<void>((resolve) => other.stderr!.on('data', (d: Buffer) => { said += String(d); if (said.includes('waiting for the lock')) resolve(); }));
    expect(other.exitCode, 'the other process ended while the lock was held').toBeNull();
    await release();
    const r = await other;
    // It said whom it waited for, and got the lock only after.
    expect(r.all).toMatch(/other: waiting for the lock .*a\.lock, held by process \d+ on [^\n]*\n(.*\n)*got it/);
  }, 30_000);

  it('is free again the moment its holder is killed', async () => {
    const path = join(dir, 'b.lock');
    const holder = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `const { acquireLock } = await import(${lib('cache-lock.ts')}); await acquireLock(${JSON.stringify(path)}, 'holder'); console.log('held'); setInterval(() => {}, 1000);`], { cwd: repoRoot, reject: false });
    await new Promise<void>((resolve) => holder.stdout!.on('data', (d: Buffer) => String(d).includes('held') && resolve()));
    holder.kill('SIGKILL');
    await holder;
    const start = performance.now();
    const release = await acquireLock(path, 'test');
    expect(performance.now() - start).toBeLessThan(5000);
    await release();
  }, 30_000);
});

describe('the key', () => {
  // A file of the checkout for the test to change: out/ is git-ignored.
  const recipe = 'out/cache-test-recipe.sh';
  afterAll(async () => {
    await rm(join(repoRoot, recipe), { force: true });
  });

  it('changes with the recipe: a changed flag rebuilds', async () => {
    await mkdir(join(repoRoot, 'out'), { recursive: true });
    const inputs = { files: ['userspace/native'], recipe: [recipe], values: { node: 'v20' } };
    await writeFile(join(repoRoot, recipe), 'cc -O2 -o thing thing.c\n');
    const before = await hashInputs(inputs);
    expect(await hashInputs(inputs)).toBe(before);
    await writeFile(join(repoRoot, recipe), 'cc -O0 -o thing thing.c\n');
    expect(await hashInputs(inputs)).not.toBe(before);
    // Without it, the same files and values give another key again.
    expect(await hashInputs({ files: inputs.files, values: inputs.values })).not.toBe(before);
  });

  it('is the same when the recipe is already among the files (hashed once), and refuses a recipe that does not exist', async () => {
    const files = ['qemu-device'];
    expect(await hashInputs({ files, recipe: ['qemu-device/build-qemu.sh'] })).toBe(await hashInputs({ files }));
    await expect(hashInputs({ files, recipe: ['ci/no-such-recipe.ts'] })).rejects.toThrow('build recipe ci/no-such-recipe.ts does not exist');
  });
});

describe('cached() across processes', () => {
  it('builds an entry once when two processes want it at once; the other finds it built', async () => {
    const cache = join(dir, 'shared');
    const count = join(dir, 'builds');
    const code = `const { cached } = await import(${lib('cache.ts')});
const { appendFile } = await import('node:fs/promises');
const out = await cached('thing', { recipe: [], values: { v: '1' } }, async (d) => { await appendFile(${JSON.stringify(count)}, 'x'); await new Promise((r) => setTimeout(r, 2000)); });
console.log('dir', out.dir, out.built);`;
    const [a, b] = await Promise.all([node(code, cache), node(code, cache)]);
    expect(await readFile(count, 'utf8')).toBe('x');
    const dirs = [a.all, b.all].map((o) => /dir (\S+) (true|false)/.exec(o)?.slice(1));
    expect(dirs.map((d) => d?.[0])).toEqual([dirs[0]?.[0], dirs[0]?.[0]]);
    expect(dirs.map((d) => d?.[1]).sort()).toEqual(['false', 'true']);
    expect(`${a.all}\n${b.all}`).toMatch(/thing: built by another process meanwhile/);
    // The entry records its size, for pruning.
    const record = JSON.parse(await readFile(join(dirs[0]![0]!, '.complete'), 'utf8')) as { bytes: number };
    expect(record.bytes).toBeGreaterThan(0);
  }, 60_000);
});

describe('pruning', () => {
  const day = 86_400_000;
  const entry = (name: string, ageDays: number, gb: number): CacheEntry => ({ name, key: name.padEnd(20, '0'), dir: `/c/${name}`, lastUsed: Date.now() - ageDays * day, bytes: gb * 1e9 });

  it('removes the entries unused too long, then the least recently used while over size, never one in use', () => {
    const entries = [entry('old', 40, 1), entry('used', 50, 1), entry('a', 3, 10), entry('b', 2, 10), entry('c', 1, 10)];
    const keep = new Set([`used/${'used'.padEnd(20, '0')}`]);
    const names = (l: CacheEntry[]): string[] => l.map((e) => e.name);
    expect(names(choosePrune(entries, { maxAgeDays: 30, maxBytes: 100e9 }, keep))).toEqual(['old']);
    expect(names(choosePrune(entries, { maxAgeDays: 30, maxBytes: 15e9 }, keep))).toEqual(['old', 'a', 'b']);
    expect(names(choosePrune(entries, { maxAgeDays: 30, maxBytes: 0.5e9 }, keep))).toEqual(['old', 'a', 'b', 'c']);
  });

  it('prunes a real cache folder by last use, and the leftovers of builds whose process is gone', async () => {
    const cache = join(dir, 'prune');
    const make = async (name: string, key: string, ageDays: number): Promise<string> => {
      const d = join(cache, name, key);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'data'), 'x'.repeat(1000));
      await writeFile(join(d, '.complete'), '{}\n');
      const t = new Date(Date.now() - ageDays * day);
      await utimes(join(d, '.complete'), t, t);
      return d;
    };
    const old = await make('kernel', 'a'.repeat(20), 45);
    const recent = await make('kernel', 'b'.repeat(20), 1);
    const keptOld = await make('qemu', 'c'.repeat(20), 60);
    const leftover = join(cache, 'qemu', `${'d'.repeat(20)}.tmp-999999999`);
    const live = join(cache, 'qemu', `${'e'.repeat(20)}.tmp-${process.pid}`);
    await mkdir(leftover, { recursive: true });
    await mkdir(live, { recursive: true });
    const removed = await pruneCache(cache, { maxAgeDays: 30, maxBytes: 1e12 }, new Set([`qemu/${'c'.repeat(20)}`]));
    expect(removed.map((e) => e.dir)).toEqual([old]);
    expect([existsSync(old), existsSync(recent), existsSync(keptOld), existsSync(leftover), existsSync(live)]).toEqual([false, true, true, false, true]);
    // Sizes measured once for entries that did not record one, their last use kept.
    const listed = await listEntries(cache);
    expect(listed.find((e) => e.dir === keptOld)?.bytes).toBeGreaterThan(1000);
    expect(Date.now() - (listed.find((e) => e.dir === keptOld)?.lastUsed ?? 0)).toBeGreaterThan(59 * day);
  });

  it('npm run clean -- --prune prunes and keeps the cache; an unknown argument is refused', async () => {
    const cache = join(dir, 'clean');
    await mkdir(join(cache, 'kernel', 'f'.repeat(20)), { recursive: true });
    const clean = (args: string[]) => execa(process.execPath, ['--import', 'tsx', 'ci/clean.ts', ...args], { cwd: repoRoot, env: { OSSA_CACHE_DIR: cache }, reject: false, all: true });
    const bad = await clean(['--everything']);
    expect([bad.exitCode, bad.all]).toEqual([2, 'clean: unknown argument --everything\nusage: npm run clean [-- --prune]']);
    const prune = await clean(['--prune']);
    expect(prune.exitCode).toBe(0);
    expect(existsSync(cache)).toBe(true);
  });
});
