/**
 * A lab's tree recorded in a work area of its own under the cache folder
 * (source-snapshot.ts records it; a checkout of the record is built there),
 * all under the area's lock, so that what is built is of the commit that
 * names it. QEMU's trees (qemu-build.ts) still do this inline; they move
 * here when their build's recipe may change (it rebuilds the newest QEMU).
 */
import { createHash } from 'node:crypto';
import { mkdir, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { acquireLock } from './cache-lock.js';
import { cacheDir } from './paths.js';
import { type Snapshot, snapshotTree } from './source-snapshot.js';

/** A tree recorded in its work area (withRecordedTree). */
export interface RecordedTree {
  /** The work area; the same tree (or area name) builds incrementally there. */
  work: string;
  /** The repository the tree is recorded in. */
  base: string;
  snapshot: Snapshot;
  /** The name of the work area's lock, held while `use` runs (for cached()'s `held`). */
  lock: string;
}

/**
 * Whether `dir` is the top of a git work tree (the paths compared as real
 * paths: git gives the top with links resolved). Read only, with none of
 * the user's git settings.
 */
export async function isGitTop(dir: string): Promise<boolean> {
  const r = await execa('git', ['-c', 'safe.directory=*', '-C', dir, 'rev-parse', '--show-toplevel'], {
    reject: false,
    env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' },
  });
  if (r.exitCode !== 0) return false;
  return (await realpath(r.stdout.trim())) === (await realpath(dir));
}

/**
 * Records the tree `source` in its work area and runs `use` on the record,
 * under the area's lock. The area is `<area>` if given (one for a tree
 * whose path changes, such as the newest kernel's, so that its build stays
 * incremental and one area is kept), else `<kind>-work-tree-<hash of the
 * tree's real path>`. `what` names the tree in messages.
 */
export async function withRecordedTree<T>(
  kind: string,
  source: string,
  what: string,
  use: (tree: RecordedTree) => Promise<T>,
  area?: string,
): Promise<T> {
  const name = area ?? `${kind}-work-tree-${createHash('sha256').update(await realpath(source)).digest('hex').slice(0, 12)}`;
  const work = join(cacheDir(), name);
  const lock = basename(work);
  await mkdir(work, { recursive: true });
  const release = await acquireLock(join(cacheDir(), `${lock}.lock`), `${what} (${source})`);
  try {
    const base = join(work, 'base');
    return await use({ work, base, snapshot: await snapshotTree(source, base), lock });
  } finally {
    await release();
  }
}
