/**
 * Patch series against a pristine source tree kept as a git repository:
 * commits made without a checkout (git's plumbing, on an index of their
 * own, so that a kernel tree is never written out again), then
 * `git format-patch` with a cover letter. Used by `npm run patches`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa, ExecaError } from 'execa';
import { BuildError } from './progress.js';

/** Who made a commit, and when (a fixed date keeps a series the same from run to run). */
export interface Identity {
  name: string;
  email: string;
  /** git's date format, e.g. '2026-12-02T03:00:00Z'. */
  date: string;
}

/** The pristine trees' one commit. */
export const PRISTINE_IDENTITY: Identity = { name: 'ossa build', email: 'build@ossa.invalid', date: '2000-01-01T00:00:00Z' };

function identityEnv(who: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_AUTHOR_DATE: who.date,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
    GIT_COMMITTER_DATE: who.date,
  };
}

/** Runs git in `dir` (nothing of the user's git configuration) and returns its standard output. */
export async function git(dir: string, args: string[], who?: Identity, extra: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
  try {
    const r = await execa('git', args, {
      cwd: dir,
      input: extra.input,
      env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C', ...(who ? identityEnv(who) : {}), ...extra.env },
    });
    return r.stdout;
  } catch (err) {
    const detail = err instanceof ExecaError ? String(err.stderr ?? err.message).trim().split('\n').slice(-10).join('\n') : String(err);
    throw new BuildError(`git ${args.slice(0, 3).join(' ')} in ${dir} failed:\n${detail}`);
  }
}

/** Makes `dir` a repository whose one commit is the tree as it is (ignored files too). */
export async function commitPristine(dir: string, what: string): Promise<void> {
  await git(dir, ['init', '-q']);
  await git(dir, ['add', '-A', '-f', '.']);
  await git(dir, ['commit', '-q', '--no-verify', '-m', `${what}, as unpacked`], PRISTINE_IDENTITY);
}

/** A file of a commit, as text. */
export async function showFile(repo: string, commit: string, path: string): Promise<string> {
  const r = await execa('git', ['cat-file', 'blob', `${commit}:${path}`], { cwd: repo, stripFinalNewline: false, reject: false });
  if (r.exitCode !== 0) throw new BuildError(`${path} not found at ${commit} in ${repo}: ${String(r.stderr).trim()}`);
  return r.stdout;
}

/** One patch of a series: its files (path → new content) and its message. */
export interface Patch {
  /** The subject line, e.g. 'accel/ossa: Add the uapi header'. */
  subject: string;
  /** The body: paragraphs of lines of at most 75 characters. */
  body: string;
  /** Files to add or replace, by path in the tree, with their content; mode 0644. */
  files: Map<string, string>;
}

/** The lines of a commit message longer than 75 characters (checkpatch warns about them). */
export function longLines(message: string): string[] {
  return message.split('\n').filter((l) => l.length > 75);
}

/**
 * Commits `patches` one on another from `base`, with `author` (who also
 * signs each off), without touching the work tree or the repository's
 * index. Returns the last commit.
 */
export async function commitSeries(repo: string, base: string, patches: Patch[], author: Identity): Promise<string> {
  // An index of its own in the repository, so the repository's is not touched.
  const index = join(repo, '.git', 'ossa-series-index');
  const env = { GIT_INDEX_FILE: index };
  let parent = base;
  try {
    for (const p of patches) {
      const message = `${p.subject}\n\n${p.body.trim()}\n\nSigned-off-by: ${author.name} <${author.email}>\n`;
      const long = longLines(message);
      if (long.length) throw new BuildError(`patch "${p.subject}": message lines over 75 characters:\n${long.join('\n')}`);
      await git(repo, ['read-tree', parent], undefined, { env });
      for (const [path, content] of p.files) {
        const blob = (await git(repo, ['hash-object', '-w', '--stdin'], undefined, { input: content })).trim();
        await git(repo, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], undefined, { env });
      }
      const tree = (await git(repo, ['write-tree'], undefined, { env })).trim();
      parent = (await git(repo, ['commit-tree', tree, '-p', parent, '-F', '-'], author, { input: message })).trim();
    }
  } finally {
    await rm(index, { force: true });
  }
  return parent;
}

/**
 * A patch file as formatSeries() wrote it, without its Date: line (the
 * date of the repository's last commit): two series that differ only in
 * when they were made read the same.
 */
export async function readUndatedPatch(path: string): Promise<string> {
  return (await readFile(path, 'utf8')).replace(/^Date: .*$/m, '');
}

/**
 * Writes base..head as `git format-patch` files with a cover letter into
 * `outDir` (emptied first of earlier series), the cover letter's subject
 * and blurb filled in. Returns the files, cover letter first. Blob names
 * on the index lines have 12 digits, as Linux's own git config asks: git's
 * default length grows with the repository, so that the same series made
 * in a tree with more objects would differ.
 */
export async function formatSeries(
  repo: string,
  base: string,
  head: string,
  outDir: string,
  cover: { subject: string; blurb: string; author: Identity },
): Promise<string[]> {
  await execa('mkdir', ['-p', outDir]);
  for (const f of await readdir(outDir)) if (f.endsWith('.patch')) await execa('rm', ['-f', join(outDir, f)]);
  await git(repo, ['format-patch', '-q', '--cover-letter', '--zero-commit', '--no-signature', '--abbrev=12', '-o', outDir, `${base}..${head}`], cover.author);
  const files = (await readdir(outDir)).filter((f) => f.endsWith('.patch')).sort();
  const coverFile = files.find((f) => f.startsWith('0000-'));
  if (!coverFile) throw new BuildError(`git format-patch wrote no cover letter in ${outDir}`);
  const path = join(outDir, coverFile);
  const text = await readFile(path, 'utf8');
  if (!text.includes('*** SUBJECT HERE ***') || !text.includes('*** BLURB HERE ***')) {
    throw new BuildError(`${path}: git's cover-letter placeholders not found`);
  }
  await writeFile(path, text.replace('*** SUBJECT HERE ***', cover.subject).replace('*** BLURB HERE ***', cover.blurb.trim()));
  return files.map((f) => join(outDir, f));
}

/**
 * A checkout of the pristine tree, reused from run to run (its build
 * products stay, so that only what the series changes is built again),
 * reset to the tree's HEAD, fetched when the tree has moved. Returns its
 * folder.
 */
export async function pristineCheckout(tree: string, work: string): Promise<string> {
  if (!existsSync(join(work, '.git'))) {
    // A local clone: its objects are hard links, and the checkout needs no
    // path outside itself (the Linux tree's checkpatch runs in it inside
    // the sid root).
    // Made aside and renamed into place, so that a clone cut short is
    // never taken for one.
    const aside = `${work}.tmp-${process.pid}`;
    await rm(aside, { recursive: true, force: true });
    await mkdir(dirname(work), { recursive: true });
    await git(dirname(work), ['clone', '-q', tree, aside]);
    await rename(aside, work);
  }
  const base = (await git(tree, ['rev-parse', 'HEAD'])).trim();
  // A tree recorded again (source-snapshot.ts) has a commit the checkout lacks.
  if (!(await git(work, ['cat-file', '-e', `${base}^{commit}`]).then(() => true, () => false))) await git(work, ['fetch', '-q', 'origin']);
  await git(work, ['am', '--abort']).catch(() => undefined);
  await git(work, ['reset', '-q', '--hard', base]);
  // Untracked files the series added last time go; ignored build products stay.
  await git(work, ['clean', '-q', '-f', '-d']);
  return work;
}

/** Applies the series' patches (not its cover letter) with `git am`. */
export async function applySeries(work: string, patches: string[], committer: Identity = PRISTINE_IDENTITY): Promise<void> {
  const numbered = patches.filter((p) => !basename(p).startsWith('0000-'));
  await git(work, ['am', '-q', '--whitespace=error-all', ...numbered], committer);
}
