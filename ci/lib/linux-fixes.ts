/**
 * Fixes to the kernel's core that the driver's uapi depends on, kept as
 * patches in kernel-driver/linux-fixes/ (mail format, as `git
 * format-patch` writes them, against the newest kernel tree). They open
 * the Linux series of `npm run patches` and are applied to the debug
 * kernel's source, where the guest suite runs them: the driver built for
 * that kernel (LINUX_FIXES=y) leaves out the stand-ins that
 * compat/ossa_compat.h carries for kernels without them.
 */
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { Patch } from './git-tree.js';
import { showFile } from './git-tree.js';
import { repoRoot } from './paths.js';
import { BuildError } from './progress.js';

export const LINUX_FIXES_DIR = 'kernel-driver/linux-fixes';

export interface LinuxFix {
  /** The patch file. */
  file: string;
  subject: string;
  /** The commit message's body, without its Signed-off-by. */
  body: string;
  /** The files the diff changes, relative to the tree's top. */
  paths: string[];
}

/** Subject, body and changed paths of a patch in `git format-patch`'s mail format. */
export function parseMailPatch(text: string, file: string): Omit<LinuxFix, 'file'> {
  const headerEnd = text.indexOf('\n\n');
  const subject = /^Subject: (?:\[PATCH[^\]]*\] )?((?:.*)(?:\n .*)*)$/m.exec(text.slice(0, headerEnd))?.[1]?.replace(/\n /g, ' ');
  const diffStart = text.indexOf('\n---\n');
  if (headerEnd < 0 || !subject || diffStart < headerEnd) throw new BuildError(`${file}: not a patch as git format-patch writes one`);
  const body = text
    .slice(headerEnd + 2, diffStart)
    .split('\n')
    .filter((l) => !/^Signed-off-by: /.test(l))
    .join('\n')
    .trim();
  const paths = [...text.matchAll(/^diff --git a\/(\S+) b\/\S+$/gm)].map((mm) => mm[1] as string);
  if (!paths.length) throw new BuildError(`${file}: changes no file`);
  return { subject, body, paths };
}

/** The fixes, in the order of their file names. */
export async function linuxFixes(): Promise<LinuxFix[]> {
  const dir = join(repoRoot, LINUX_FIXES_DIR);
  const names = (await readdir(dir)).filter((f) => f.endsWith('.patch')).sort();
  return Promise.all(
    names.map(async (n) => {
      const file = join(dir, n);
      return { file, ...parseMailPatch(await readFile(file, 'utf8'), file) };
    }),
  );
}

async function gitApply(dir: string, fix: LinuxFix, args: string[], what: string): Promise<void> {
  const r = await execa('git', ['apply', ...args, fix.file], { cwd: dir, reject: false, all: true, env: { LC_ALL: 'C' } });
  if (r.exitCode !== 0) throw new BuildError(`${fix.file.slice(repoRoot.length + 1)} does not apply to ${what}:\n${r.all}`);
}

/**
 * Applies every fix to the unpacked (not git) kernel source `src`. An older
 * kernel than the fixes were written against may differ around a change,
 * so one line of context on each side is enough (git apply -C1); a fix
 * whose changed lines differ still fails.
 */
export async function applyLinuxFixes(src: string, what: string): Promise<LinuxFix[]> {
  const fixes = await linuxFixes();
  for (const f of fixes) await gitApply(src, f, ['-C1'], what);
  return fixes;
}

/** The fixes as the first patches of a series against `base` of `repo`. */
export async function fixPatches(repo: string, base: string): Promise<Patch[]> {
  const patches: Patch[] = [];
  for (const fix of await linuxFixes()) {
    const scratch = await mkdtemp(join(tmpdir(), 'ossa-linux-fix-'));
    try {
      for (const p of fix.paths) {
        await mkdir(join(scratch, dirname(p)), { recursive: true });
        await writeFile(join(scratch, p), await showFile(repo, base, p));
      }
      await gitApply(scratch, fix, [], 'the pristine newest kernel tree');
      const files = new Map<string, string>();
      for (const p of fix.paths) files.set(p, await readFile(join(scratch, p), 'utf8'));
      patches.push({ subject: fix.subject, body: fix.body, files });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  return patches;
}
