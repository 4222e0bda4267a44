/**
 * Someone's source tree (a lab's QEMU tree) recorded in a git repository
 * of ossa's own, without a write to that tree: git reads the tree as the
 * work tree of ossa's repository, whose index keeps each file's stat
 * data, so that recording an unchanged tree again reads no file. The
 * commit is what the device's series is made against and what names the
 * build in the cache: the same files give the same commit, wherever and
 * whenever they are recorded (a fixed author, date and message, no
 * parent).
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { git, PRISTINE_IDENTITY } from './git-tree.js';
import { BuildError, log } from './progress.js';

/** git with ossa's settings only; any owner's tree is read (root builds a user's tree). */
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0', GIT_LITERAL_PATHSPECS: '1' };

/** git on the user's repository, read only. */
async function readGit(dir: string, args: string[]): Promise<string | undefined> {
  const r = await execa('git', ['-c', 'safe.directory=*', '-C', dir, ...args], { reject: false, stripFinalNewline: false, env: GIT_ENV });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/** Whether a path is in a folder a meson or ninja build made (build/, build-asan/, ...): build products, not source. */
function buildFolders(files: readonly string[]): string[] {
  return files.filter((f) => /(^|\/)(build\.ninja|meson-private\/.*)$/.test(f)).map((f) => f.replace(/(build\.ninja|meson-private\/.*)$/, ''));
}

/**
 * The files of the tree, relative to it. In a git work tree (its top): the
 * tracked files, as they are now, and the untracked ones git does not
 * ignore, and under subprojects/ the ignored ones too (the subprojects
 * meson downloaded, which QEMU's build needs and its .gitignore lists).
 * Otherwise every file and link. Never anything under a .git, nor in a
 * folder a meson build made (one with build.ninja or meson-private/).
 */
export async function treeFiles(source: string): Promise<string[]> {
  let files: string[];
  const top = (await readGit(source, ['rev-parse', '--show-toplevel']))?.trim();
  if (top && (await realpath(top)) === (await realpath(source))) {
    const listed = await readGit(source, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
    const subprojects = await readGit(source, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--', 'subprojects']);
    if (listed === undefined || subprojects === undefined) throw new BuildError(`${source}: git ls-files failed`);
    files = [...new Set([...listed.split('\0'), ...subprojects.split('\0')].filter(Boolean))];
  } else {
    const { stdout } = await execa('find', ['.', '-name', '.git', '-prune', '-o', '(', '-type', 'f', '-o', '-type', 'l', ')', '-printf', '%P\\0'], {
      cwd: source,
      stripFinalNewline: false,
    });
    files = stdout.split('\0').filter(Boolean);
  }
  const builds = buildFolders(files).filter((b) => b !== '');
  const candidates = files.filter((f) => !/(^|\/)\.git(\/|$)/.test(f) && !builds.some((b) => f.startsWith(b)));
  // A tracked file deleted from the work tree, or a submodule (a folder), is left out; a link is kept as a link.
  const kept: string[] = [];
  for (let i = 0; i < candidates.length; i += 512) {
    const batch = candidates.slice(i, i + 512);
    const infos = await Promise.all(batch.map((f) => lstat(join(source, f)).catch(() => undefined)));
    batch.forEach((f, k) => {
      if (infos[k] && !infos[k].isDirectory()) kept.push(f);
    });
  }
  return kept.sort();
}

/** A tree as recorded: the commit, and the files in it. */
export interface Snapshot {
  commit: string;
  files: string[];
}

/**
 * Records the tree `source` in the repository `repo` (made if missing):
 * its index follows the tree's files, and a commit of them becomes HEAD.
 */
export async function snapshotTree(source: string, repo: string): Promise<Snapshot> {
  if (!existsSync(source)) throw new BuildError(`${source}: no such folder`);
  const files = await treeFiles(source);
  if (!files.length) throw new BuildError(`${source}: no files to record`);
  await mkdir(repo, { recursive: true });
  if (!existsSync(join(repo, '.git'))) await git(repo, ['init', '-q']);
  // The tree is the work tree of ossa's repository, for these commands only.
  const on = ['-c', 'safe.directory=*', '--git-dir', join(repo, '.git'), '--work-tree', source];
  const list = (paths: string[]): { input: string; env: Record<string, string> } => ({ input: `${paths.join('\0')}\0`, env: GIT_ENV });
  const names = (out: string): string[] => out.split('\0').filter(Boolean);
  const wanted = new Set(files);
  // The index's stat data brought up to date, reading only the files whose
  // stat changed; then the index takes exactly the changed, new and gone
  // paths (paths on stdin, not pathspecs: a name is never a pattern).
  await git(repo, [...on, 'update-index', '-q', '--refresh', '--ignore-missing'], undefined, { env: GIT_ENV }).catch(() => undefined);
  const indexed = new Set(names(await git(repo, [...on, 'ls-files', '-z'], undefined, { env: GIT_ENV })));
  const gone = [...indexed].filter((f) => !wanted.has(f));
  if (gone.length) await git(repo, [...on, 'update-index', '--force-remove', '-z', '--stdin'], undefined, list(gone));
  const changed = names(await git(repo, [...on, 'diff-files', '--name-only', '-z'], undefined, { env: GIT_ENV }));
  const update = [...new Set([...changed.filter((f) => wanted.has(f)), ...files.filter((f) => !indexed.has(f))])];
  if (update.length) await git(repo, [...on, 'update-index', '--add', '-z', '--stdin'], undefined, list(update));
  const tree = (await git(repo, [...on, 'write-tree'], undefined, { env: GIT_ENV })).trim();
  const commit = (await git(repo, ['commit-tree', tree, '-m', 'the tree, as recorded'], PRISTINE_IDENTITY)).trim();
  await git(repo, ['update-ref', 'HEAD', commit]);
  log(`recorded ${source}: ${files.length} files, commit ${commit.slice(0, 12)}`);
  return { commit, files };
}
