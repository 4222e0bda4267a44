/**
 * The newest QEMU's source tree, pristine, as a git repository: what the
 * QEMU patch series (`npm run patches`) is made against and what the
 * newest QEMU is built from, the series applied. Its orig tarball from
 * the archive, checked against the SHA-256 of sid's signed source index,
 * unpacked and committed once, cached by version and checksum.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cached, type CachedOutput } from './cache.js';
import { commitPristine } from './git-tree.js';
import { BuildError, log } from './progress.js';
import type { QemuSource } from './qemu-source.js';

export interface QemuTree {
  /** The repository; HEAD is the pristine tree. */
  dir: string;
  version: string;
  cache: CachedOutput;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Downloads, checks, unpacks and commits the QEMU source `source` (cached by version and checksum). */
export async function newestQemuTree(source: QemuSource): Promise<QemuTree> {
  const cache = await cached('qemu-tree', { recipe: ['ci/lib/qemu-tree.ts'], values: { version: source.version, sha256: source.sha256 } }, async (dir) => {
    const tarball = join(dir, 'qemu.orig.tar.xz');
    log(`qemu-tree: downloading ${source.url}`);
    await execa('curl', ['-fsSL', '--retry', '3', '-o', tarball, source.url]).catch((err: unknown) => {
      throw new BuildError(`qemu-tree: download of ${source.url} failed: ${(err as Error).message.split('\n')[0]}`);
    });
    const got = await sha256(tarball);
    if (got !== source.sha256) throw new BuildError(`qemu-tree: ${source.url}: SHA-256 ${got}, the signed index says ${source.sha256}`);
    await execa('tar', ['--no-same-owner', '-xf', tarball, '-C', dir]);
    await execa('rm', ['-f', tarball]);
    const src = join(dir, `qemu-${source.version}`);
    if (!existsSync(join(src, 'MAINTAINERS'))) throw new BuildError(`qemu-tree: the tarball did not unpack to qemu-${source.version}/`);
    await execa('mv', [src, join(dir, 'qemu')]);
    await commitPristine(join(dir, 'qemu'), `qemu ${source.version}+ds orig tarball`);
  });
  return { dir: join(cache.dir, 'qemu'), version: source.version, cache };
}
