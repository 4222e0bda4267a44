/**
 * `npm run clean`: deletes the build cache (all but its lock files) and this checkout's out/, once
 * no build holds a lock in the cache (it waits for those that do).
 * `npm run clean -- --prune`: only prunes the cache to its limits now, as
 * every build does when it ends ($OSSA_CACHE_MAX_AGE_DAYS, default 30 days
 * unused; $OSSA_CACHE_MAX_GB, default 60 GB).
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock } from './lib/cache-lock.js';
import { pruneCache, pruneLimits } from './lib/cache-prune.js';
import { cacheDir, outDir } from './lib/paths.js';
import { log } from './lib/progress.js';

const args = process.argv.slice(2);
if (args.some((a) => a !== '--prune')) {
  process.stderr.write(`clean: unknown argument ${args.find((a) => a !== '--prune')}\nusage: npm run clean [-- --prune]\n`);
  process.exit(2);
}
const root = cacheDir();
try {
  if (args.includes('--prune')) {
    const limits = pruneLimits();
    const removed = await pruneCache(root, limits, new Set());
    if (!removed.length) log(`cache: nothing to prune in ${root} (limits: ${limits.maxAgeDays} days unused, ${limits.maxBytes / 1e9} GB)`);
  } else {
    // Every lock first, so that no build in another clone loses its tree midway.
    const locks = existsSync(root) ? (await readdir(root)).filter((f) => f.endsWith('.lock')) : [];
    const releases = [];
    for (const l of locks) releases.push(await acquireLock(join(root, l), `clean (${l})`));
    // The lock files stay: a process waiting on one must lock the same file as the next comer.
    for (const f of existsSync(root) ? await readdir(root) : []) if (!f.endsWith('.lock')) await rm(join(root, f), { recursive: true, force: true });
    for (const release of releases) await release();
    await rm(outDir, { recursive: true, force: true });
    log(`removed the build cache ${root} and ${outDir}`);
  }
} catch (err) {
  process.stderr.write(`clean: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
