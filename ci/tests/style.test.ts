/**
 * The device model follows QEMU's coding style: QEMU's own checkpatch.pl,
 * from the QEMU tree the build unpacked, over every file of qemu-device/
 * and the register header it shares with the driver.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { cacheDir, repoRoot } from '../lib/paths.js';

const checkpatch = join(cacheDir(), 'qemu-work', 'qemu-10.0.2', 'scripts', 'checkpatch.pl');
const deviceDir = join(repoRoot, 'qemu-device');
const files = [
  ...readdirSync(deviceDir)
    .filter((f) => /\.[ch]$/.test(f))
    .map((f) => join(deviceDir, f)),
  join(repoRoot, 'kernel-driver', 'ossa_regs.h'),
];

describe('QEMU checkpatch', () => {
  test('the QEMU tree is unpacked (npm run build)', () => {
    expect(existsSync(checkpatch), `${checkpatch} missing`).toBe(true);
  });

  test.each(files.map((f) => [f.slice(repoRoot.length + 1), f]))('%s', async (_name, file) => {
    const r = await execa('perl', [checkpatch, '--no-tree', '--terse', '-f', file], { reject: false, all: true });
    const problems = String(r.all)
      .split('\n')
      // The shared register header is GPL-2.0-only OR MIT on purpose, so
      // that the kernel (GPL-2.0-only) and QEMU can both include it.
      .filter((l) => /: (ERROR|WARNING):/.test(l) && !/acceptable license 'GPL-2.0-only OR MIT/.test(l));
    expect(problems).toEqual([]);
  });
});
