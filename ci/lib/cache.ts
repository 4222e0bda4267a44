import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { acquireLock } from './cache-lock.js';
import { cacheDir, repoRoot } from './paths.js';
import { formatSeconds, log } from './progress.js';

/** What a cached build depends on: files or folders of the checkout, and values. */
export interface Inputs {
  /** What it is made from: paths relative to the checkout; folders are read recursively. */
  files?: readonly string[];
  /**
   * How it is made: the files whose code runs the build (the module with
   * its commands and flags, the script it calls), so that a changed flag or
   * step rebuilds it. A file already under `files` is hashed once, as
   * input: listing it here leaves the key as it was.
   */
  recipe?: readonly string[];
  /** Anything else the output depends on (versions, flags, other keys). */
  values?: Record<string, string>;
}

/** The inputs of a cached entry: its recipe is required. */
export type EntryInputs = Inputs & { recipe: readonly string[] };

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((e) => e.name !== 'node_modules' && !e.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((e) => listFiles(join(path, e.name))),
  );
  return nested.flat();
}

/** Whether `rel` is one of `paths` or under one of them. */
const covered = (rel: string, paths: readonly string[]): boolean => paths.some((p) => rel === p || rel.startsWith(`${p}/`));

/** A hash of the inputs' names and contents, and of the recipe's files not among them. */
export async function hashInputs(inputs: Inputs): Promise<string> {
  const hash = createHash('sha256');
  const files = inputs.files ?? [];
  const hashFiles = async (kind: 'file' | 'recipe', paths: readonly string[]): Promise<void> => {
    for (const rel of paths) {
      const abs = join(repoRoot, rel);
      if (!existsSync(abs)) throw new Error(`build ${kind === 'file' ? 'input' : 'recipe'} ${rel} does not exist`);
      for (const file of await listFiles(abs)) {
        const info = await stat(file);
        hash.update(`${kind} ${relative(repoRoot, file)} ${info.mode & 0o111 ? 'x' : '-'}\n`);
        hash.update(await readFile(file));
        hash.update('\n');
      }
    }
  };
  await hashFiles('file', files);
  await hashFiles('recipe', (inputs.recipe ?? []).filter((rel) => !covered(rel, files)));
  for (const [k, v] of Object.entries(inputs.values ?? {}).sort()) hash.update(`value ${k}=${v}\n`);
  return hash.digest('hex').slice(0, 20);
}

export interface CachedOutput {
  /** The folder holding the output. */
  dir: string;
  /** The input hash that names it. */
  key: string;
  /** True when this run built it, false when it came from the cache. */
  built: boolean;
}

/**
 * What a build may say of itself: `incremental` when it reused a work tree
 * kept outside the cache (its time is then not a cold build's).
 */
export interface BuildKind {
  incremental: boolean;
}

/** The bytes a folder takes (du -sb): recorded in each entry, for pruning. */
export async function diskUsage(dir: string): Promise<number> {
  const { stdout } = await execa('du', ['-sb', dir]);
  return Number(stdout.split('\t')[0]);
}

/** The entries this process used, `name/key`: never pruned by it. */
export const usedEntries = new Set<string>();

/** Marks an entry as used now: what pruning goes by (the mtime of its .complete). */
async function markUsed(name: string, key: string, dir: string): Promise<void> {
  usedEntries.add(`${name}/${key}`);
  const now = new Date();
  // Best effort: a cache shared with another user, or an entry pruned meanwhile.
  await utimes(join(dir, '.complete'), now, now).catch(() => undefined);
}

/**
 * Returns `$cache/<name>/<key>`, building it with `build(tmpDir)` first when
 * it is not there. The build writes into a temporary folder that is renamed
 * into place only on success, so an interrupted build leaves nothing behind.
 * `lock` names the lock when entries share a work tree (default: `name`);
 * `held` says that the caller holds it already (it made the inputs in
 * that work tree, and no other process may change them before the build).
 */
export async function cached(
  name: string,
  inputs: EntryInputs,
  build: (dir: string) => Promise<void | BuildKind>,
  options: { quiet?: boolean; lock?: string; held?: boolean } = {},
): Promise<CachedOutput> {
  const key = await hashInputs(inputs);
  const dir = join(cacheDir(), name, key);
  const complete = join(dir, '.complete');
  if (existsSync(complete)) {
    if (!options.quiet) log(`${name}: up to date (${key})`);
    await markUsed(name, key, dir);
    return { dir, key, built: false };
  }
  // One build at a time of an entry, or of the work tree it shares with
  // others (`lock`), across every process using this cache.
  await mkdir(join(cacheDir(), name), { recursive: true });
  const release = options.held ? async (): Promise<void> => {} : await acquireLock(join(cacheDir(), `${options.lock ?? name}.lock`), `${name} (${key})`);
  try {
    if (existsSync(complete)) {
      log(`${name}: built by another process meanwhile (${key})`);
      await markUsed(name, key, dir);
      return { dir, key, built: false };
    }
    return await buildEntry(name, key, dir, build);
  } finally {
    await release();
  }
}

async function buildEntry(name: string, key: string, dir: string, build: (dir: string) => Promise<void | BuildKind>): Promise<CachedOutput> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const start = performance.now();
  log(`${name}: building (${key}) ...`);
  let kind: void | BuildKind;
  try {
    kind = await build(tmp);
  } catch (err) {
    log(`${name}: failed after ${formatSeconds(performance.now() - start)}`);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const seconds = (performance.now() - start) / 1000;
  // Its size, for pruning (cache-prune.ts).
  const record = { built: new Date().toISOString(), seconds, incremental: kind?.incremental ?? false, bytes: await diskUsage(tmp) };
  await writeFile(join(tmp, '.complete'), `${JSON.stringify(record)}\n`);
  // The last cold build of this part, whatever its key: what the benchmark reports.
  if (!record.incremental) await writeFile(join(cacheDir(), name, 'last-cold.json'), `${JSON.stringify({ ...record, key })}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  usedEntries.add(`${name}/${key}`);
  log(`${name}: built in ${formatSeconds(performance.now() - start)}`);
  return { dir, key, built: true };
}

/** How long the last cold build of a part (e.g. 'qemu') took, if one was recorded. */
export async function coldBuildSeconds(name: string): Promise<number | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(join(cacheDir(), name, 'last-cold.json'), 'utf8'));
    return typeof v === 'object' && v !== null && typeof (v as { seconds?: unknown }).seconds === 'number'
      ? (v as { seconds: number }).seconds
      : undefined;
  } catch {
    return undefined;
  }
}
