/**
 * Pruning the build cache: entries (`<cache>/<name>/<key>/`) unused for
 * longer than a limit go, and then, while the entries together are larger
 * than a limit, the least recently used. An entry's last use is the mtime of
 * its `.complete`, which `cached()` touches on every hit. The entries the
 * running build uses are never pruned. (A run of another clone reads the
 * entries its last build touched: the most recently used, pruned last.)
 * Leftovers of interrupted builds (`<key>.tmp-<pid>` of a process that is
 * gone) go too. Work trees outside entries (qemu-work, qemu-work-tree-*, linux-intree, the sid
 * apt cache) are never pruned: `npm run clean` deletes them with the rest.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskUsage } from './cache.js';
import { log } from './progress.js';

export interface CacheEntry {
  name: string;
  key: string;
  dir: string;
  lastUsed: number;
  bytes: number;
}

export interface PruneLimits {
  /** Entries unused for longer go (default 30 days; $OSSA_CACHE_MAX_AGE_DAYS). */
  maxAgeDays: number;
  /** Then the least recently used go while the entries are larger (default 60 GB; $OSSA_CACHE_MAX_GB). */
  maxBytes: number;
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}=${raw}: want a positive number`);
  return v;
}

export function pruneLimits(): PruneLimits {
  return { maxAgeDays: positive('OSSA_CACHE_MAX_AGE_DAYS', 30), maxBytes: positive('OSSA_CACHE_MAX_GB', 60) * 1e9 };
}

/**
 * Every complete entry of the cache, with its last use and size. The size
 * is recorded in `.complete` when the entry is built; an entry built before
 * that gets it measured once and recorded, its last use kept.
 */
export async function listEntries(root: string): Promise<CacheEntry[]> {
  if (!existsSync(root)) return [];
  const entries: CacheEntry[] = [];
  for (const name of await readdir(root)) {
    const part = join(root, name);
    if (!(await stat(part)).isDirectory()) continue;
    for (const key of await readdir(part)) {
      const dir = join(part, key);
      const complete = join(dir, '.complete');
      if (!/^[0-9a-f]{20}$/.test(key) || !existsSync(complete)) continue;
      const { mtime } = await stat(complete);
      // Records of older versions are not JSON (a date): measured like one without a size.
      let record: { bytes?: unknown } = {};
      try {
        record = JSON.parse(await readFile(complete, 'utf8')) as { bytes?: unknown };
      } catch {
        // no size recorded
      }
      let bytes = typeof record.bytes === 'number' ? record.bytes : undefined;
      if (bytes === undefined) {
        bytes = await diskUsage(dir);
        await writeFile(complete, `${JSON.stringify({ ...record, bytes })}\n`);
        await utimes(complete, mtime, mtime);
      }
      entries.push({ name, key, dir, lastUsed: mtime.getTime(), bytes });
    }
  }
  return entries;
}

/** Which entries to prune: the too old, then the least recently used while over size; never one in `keep` (`name/key`). */
export function choosePrune(entries: readonly CacheEntry[], limits: PruneLimits, keep: ReadonlySet<string>, now = Date.now()): CacheEntry[] {
  const candidates = entries.filter((e) => !keep.has(`${e.name}/${e.key}`)).sort((a, b) => a.lastUsed - b.lastUsed);
  const chosen = new Set(candidates.filter((e) => now - e.lastUsed > limits.maxAgeDays * 86_400_000));
  let total = entries.reduce((n, e) => n + (chosen.has(e) ? 0 : e.bytes), 0);
  for (const e of candidates) {
    if (total <= limits.maxBytes) break;
    if (chosen.has(e)) continue;
    chosen.add(e);
    total -= e.bytes;
  }
  return candidates.filter((e) => chosen.has(e));
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Prunes the cache at `root` to `limits`, keeping `keep`; returns what it removed. */
export async function pruneCache(root: string, limits: PruneLimits, keep: ReadonlySet<string>): Promise<CacheEntry[]> {
  const removed: CacheEntry[] = [];
  for (const e of choosePrune(await listEntries(root), limits, keep)) {
    await rm(e.dir, { recursive: true, force: true });
    removed.push(e);
  }
  if (existsSync(root)) {
    for (const name of await readdir(root)) {
      const part = join(root, name);
      if (!(await stat(part)).isDirectory()) continue;
      for (const leftover of (await readdir(part)).filter((f) => /^[0-9a-f]{20}\.tmp-\d+$/.test(f))) {
        if (processGone(Number(leftover.split('-').pop()))) await rm(join(part, leftover), { recursive: true, force: true });
      }
    }
  }
  if (removed.length) {
    const gb = removed.reduce((n, e) => n + e.bytes, 0) / 1e9;
    log(`cache: pruned ${removed.length} entr${removed.length === 1 ? 'y' : 'ies'} (${gb.toFixed(1)} GB): ${removed.map((e) => `${e.name}/${e.key}`).join(', ')}`);
  }
  return removed;
}
