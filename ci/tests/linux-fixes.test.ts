/**
 * kernel-driver/linux-fixes/: the core's fixes read from their mail
 * format, and a fix that does not apply named with git's reason.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { longLines } from '../lib/git-tree.js';
import { applyLinuxFixes, linuxFixes, parseMailPatch } from '../lib/linux-fixes.js';

describe('linux-fixes', () => {
  test('each fix reads as subject, body without its sign-off, and the files it changes', async () => {
    const fixes = await linuxFixes();
    expect(fixes.map((f) => f.subject)).toEqual(['drm: Refuse GET_UNIQUE and GET_MAGIC to files without a master']);
    const [fix] = fixes;
    expect(fix?.paths).toEqual(['drivers/gpu/drm/drm_auth.c', 'drivers/gpu/drm/drm_ioctl.c']);
    expect(fix?.body).toMatch(/^Files of accel nodes have no DRM master/);
    expect(fix?.body).not.toMatch(/Signed-off-by|^---$/m);
    expect(longLines(fix?.body ?? '')).toEqual([]);
  });

  test('a text that is not a mail patch is refused', () => {
    expect(() => parseMailPatch('Subject: [PATCH] x\n\nno diff here\n', 'x.patch')).toThrow(/not a patch as git format-patch writes one/);
    const noFiles = 'From: a <b@c>\nSubject: [PATCH] x\n\nbody\n---\n 0 files changed\n';
    expect(() => parseMailPatch(noFiles, 'y.patch')).toThrow(/changes no file/);
  });

  test('a fix whose lines the tree does not have fails with what git apply said', async () => {
    const src = await mkdtemp(join(tmpdir(), 'ossa-fix-'));
    try {
      const [fix] = await linuxFixes();
      for (const p of fix?.paths ?? []) {
        await mkdir(join(src, p, '..'), { recursive: true });
        await writeFile(join(src, p), '// not the function the fix changes\n');
      }
      await expect(applyLinuxFixes(src, 'a made-up tree')).rejects.toThrow(/drm-master-ioctls\.patch does not apply to a made-up tree:\n(.|\n)*patch failed/);
      // Nothing half-applied.
      expect(await readFile(join(src, fix?.paths[0] ?? ''), 'utf8')).toBe('// not the function the fix changes\n');
    } finally {
      await rm(src, { recursive: true, force: true });
    }
  });
});
