/**
 * A lab's own source tree (OSSA_QEMU_TREE, npm start -- --qemu DIR): recorded
 * without a write to it, named in the cache by what it holds, refused with
 * a clear message when it is not a QEMU tree.
 */
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { repoRoot } from '../lib/paths.js';
import { put, scratchDir, useCacheDir } from './support/scratch.js';
import { pristineCheckout } from '../lib/git-tree.js';
import { checkQemuTree, qemuFromTree } from '../lib/qemu-build.js';
import { snapshotTree, treeFiles } from '../lib/source-snapshot.js';

const scratch = scratchDir('ossa-snapshot-');
let dir: string;
beforeAll(() => {
  dir = scratch.path();
});
const gitIn = (cwd: string, args: string[]) =>
  execa('git', args, {
    cwd,
    // No optional index refresh: the test's own status must not write the index it watches.
    env: { GIT_OPTIONAL_LOCKS: '0', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' },
  });
describe('a tree outside git', () => {
  test('is recorded whole but .git and meson build folders, the same files giving the same commit wherever they are recorded; a change gives another', async () => {
    const tree = join(dir, 'plain');
    await put(tree, {
      'VERSION': '10.2.2\n',
      'hw/misc/a.c': 'int a;\n',
      'configure': '#!/bin/sh\n',
      'build-asan/build.ninja': 'rule cc',
      'build-asan/x.o': 'object',
      'build/meson-private/coredata.dat': 'x',
      'build/y.o': 'object',
      'sub/build/kept.txt': 'kept',
      'subprojects/dtc/.git/HEAD': 'ref: refs/heads/main\n',
      'subprojects/dtc/dtc.c': 'int dtc;\n',
    });
    await chmod(join(tree, 'configure'), 0o755);
    await symlink('hw/misc/a.c', join(tree, 'link'));
    await symlink('nowhere', join(tree, 'dangling'));
    expect(await treeFiles(tree)).toEqual(['VERSION', 'configure', 'dangling', 'hw/misc/a.c', 'link', 'sub/build/kept.txt', 'subprojects/dtc/dtc.c']);
    const first = await snapshotTree(tree, join(dir, 'rec1'));
    expect(first.files).toEqual(await treeFiles(tree));
    expect(await snapshotTree(tree, join(dir, 'rec1'))).toEqual(first);
    expect((await snapshotTree(tree, join(dir, 'rec2'))).commit).toBe(first.commit);
    // What the commit holds: modes and links as they are.
    expect((await gitIn(join(dir, 'rec1'), ['ls-tree', '-r', first.commit])).stdout).toMatch(/^100755 blob \w+\tconfigure$[\s\S]*^120000 blob \w+\tdangling$/m);
    // A changed file and a removed one: another commit, without them as they were.
    await writeFile(join(tree, 'hw/misc/a.c'), 'int b;\n');
    await rm(join(tree, 'sub'), { recursive: true });
    const second = await snapshotTree(tree, join(dir, 'rec1'));
    expect(second.commit).not.toBe(first.commit);
    expect(second.files).not.toContain('sub/build/kept.txt');
    expect((await gitIn(join(dir, 'rec1'), ['show', `${second.commit}:hw/misc/a.c`])).stdout).toBe('int b;');
  });

  test('a checkout of the record follows it when the tree changes, keeping its ignored build products', async () => {
    const tree = join(dir, 'moving');
    await put(tree, { '.gitignore': '/out/\n', 'VERSION': '1.0.0\n', 'a.c': 'one\n' });
    const base = join(dir, 'moving-rec');
    await snapshotTree(tree, base);
    const work = await pristineCheckout(base, join(dir, 'moving-work'));
    await put(work, { 'out/a.o': 'built' });
    await writeFile(join(tree, 'a.c'), 'two\n');
    await snapshotTree(tree, base);
    await pristineCheckout(base, work);
    expect(await readFile(join(work, 'a.c'), 'utf8')).toBe('two\n');
    expect(await readFile(join(work, 'out/a.o'), 'utf8')).toBe('built');
  });
});

describe('a git work tree', () => {
  test('gives its tracked files as they are now, its untracked ones and the subprojects it ignores, not other ignored or deleted ones, and is not written to', async () => {
    const tree = join(dir, 'repo');
    await put(tree, { '.gitignore': 'build/\n*.o\n/subprojects/dtc/\n', 'VERSION': '10.2.2\n', 'a.c': 'int a;\n', 'gone.c': 'x\n' });
    await gitIn(tree, ['init', '-q']);
    await gitIn(tree, ['add', '-A']);
    await gitIn(tree, ['commit', '-q', '-m', 'base']);
    await put(tree, { 'a.c': 'int a = 1;\n', 'new.c': 'int n;\n', 'build/config.h': '#define X\n', 'b.o': 'object', 'subprojects/dtc/dtc.c': 'int dtc;\n' });
    await rm(join(tree, 'gone.c'));
    const status = (await gitIn(tree, ['status', '--porcelain'])).stdout;
    const objects = (await execa('find', [join(tree, '.git'), '-newer', join(tree, 'new.c')])).stdout;
    const index = (await stat(join(tree, '.git/index'))).mtimeMs;

    const rec = await snapshotTree(tree, join(dir, 'repo-rec'));
    // Nothing of the user's repository changed: its index, no new object or ref, its status.
    expect((await stat(join(tree, '.git/index'))).mtimeMs).toBe(index);
    expect((await execa('find', [join(tree, '.git'), '-newer', join(tree, 'new.c')])).stdout).toBe(objects);
    expect((await gitIn(tree, ['status', '--porcelain'])).stdout).toBe(status);
    expect(rec.files).toEqual(['.gitignore', 'VERSION', 'a.c', 'new.c', 'subprojects/dtc/dtc.c']);
    expect((await gitIn(join(dir, 'repo-rec'), ['show', `${rec.commit}:a.c`])).stdout).toBe('int a = 1;');
  });
});

describe('qemuFromTree', () => {
  test('refuses a folder that is not a QEMU tree, naming what it lacks, and a VERSION that is not a version', async () => {
    await put(join(dir, 'not-qemu'), { 'README': 'hello\n' });
    await expect(checkQemuTree('not-qemu', 'OSSA_QEMU_TREE', dir)).rejects.toThrow(
      `OSSA_QEMU_TREE ${join(dir, 'not-qemu')}: not a QEMU source tree (no VERSION, meson.build, hw/misc/meson.build, hw/misc/Kconfig)`,
    );
    await put(join(dir, 'odd'), { 'VERSION': 'main\n', 'meson.build': '', 'hw/misc/meson.build': '', 'hw/misc/Kconfig': '' });
    await expect(checkQemuTree(join(dir, 'odd'), 'OSSA_QEMU_TREE')).rejects.toThrow('VERSION reads "main", not a QEMU version');
  });

  test('refuses a tree that holds the device but not the rest of its series, before building', async () => {
    // Its record goes into a cache of the test's own.
    useCacheDir(join(dir, 'cache'));
    const tree = join(dir, 'half');
    await put(tree, { 'VERSION': '10.2.2\n', 'meson.build': '', 'hw/misc/meson.build': '', 'hw/misc/Kconfig': '', 'hw/misc/ossa/ossa.c': 'int ossa;\n' });
    await expect(qemuFromTree(await checkQemuTree(tree, 'OSSA_QEMU_TREE'), 'qemu-own', 'OSSA_QEMU_TREE', 'gcc')).rejects.toThrow(
      `OSSA_QEMU_TREE ${tree}: holds hw/misc/ossa/ but not tests/qtest/ossa-test.c`,
    );
  });
});

describe('npm start', () => {
  const env = { OSSA_KERNEL_TREE: undefined, OSSA_KERNEL_CONFIG: undefined, OSSA_QEMU_TREE: undefined };
  const start = (args: string[]) => execa(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'ci/start.ts'), ...args], { cwd: repoRoot, reject: false, all: true, env });

  test('refuses an unknown argument with its usage (exit 2), and a --qemu that is no QEMU tree before it boots anything (exit 1)', async () => {
    const bad = await start(['--kernel-tree', '/x']);
    expect(bad.exitCode).toBe(2);
    expect(bad.all).toMatch(/Unknown option '--kernel-tree'[\s\S]*usage: npm start \[-- --qemu DIR\]/);
    const none = join(dir, 'no-such-tree');
    const missing = await start(['--qemu', none]);
    expect(missing.exitCode).toBe(1);
    expect(missing.all).toContain(`OSSA_QEMU_TREE ${none}: not a QEMU source tree`);
    expect(missing.all).not.toContain('guest: booting');
    expect(existsSync(none)).toBe(false);
  }, 120_000);
});
