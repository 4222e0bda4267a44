/**
 * Reading sid's source index for the newest QEMU (ci/lib/qemu-source.ts):
 * stanzas as `apt-cache showsrc qemu` prints them, newest version first.
 */
import { describe, expect, test } from 'vitest';
import { compareVersionsDesc, origTarballs } from '../lib/qemu-source.js';

const stanza = (version: string, sha: string): string =>
  [
    'Package: qemu',
    `Version: 1:${version}+ds-1`,
    'Checksums-Sha256:',
    ` ${'1'.repeat(64)} 10994 qemu_${version}+ds-1.dsc`,
    ` ${sha} 38669728 qemu_${version}+ds.orig.tar.xz`,
    ` ${'2'.repeat(64)} 127324 qemu_${version}+ds-1.debian.tar.xz`,
    'Package-List: ',
    'Directory: pool/main/q/qemu',
  ].join('\n');

describe('the newest QEMU in the source index', () => {
  test('versions compare by number, not as text', () => {
    expect(['10.2.2', '11.1.3', '9.2.0', '10.10.1', '11.1'].sort(compareVersionsDesc)).toEqual(['11.1.3', '11.1', '10.10.1', '10.2.2', '9.2.0']);
  });

  test('each version gives its orig tarball, its pool URL and its SHA-256, newest first', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    expect(origTarballs([stanza('10.2.2', a), stanza('11.1.3', b)])).toEqual([
      { version: '11.1.3', url: 'http://deb.debian.org/debian/pool/main/q/qemu/qemu_11.1.3%2Bds.orig.tar.xz', sha256: b },
      { version: '10.2.2', url: 'http://deb.debian.org/debian/pool/main/q/qemu/qemu_10.2.2%2Bds.orig.tar.xz', sha256: a },
    ]);
  });

  test('a stanza without a Directory or an orig tarball gives nothing', () => {
    expect(origTarballs([stanza('10.2.2', 'c'.repeat(64)).replace(/^Directory: .*$/m, '')])).toEqual([]);
    expect(origTarballs([stanza('10.2.2', 'c'.repeat(64)).replace(/orig\.tar\.xz/, 'orig.tar.gz')])).toEqual([]);
  });
});
