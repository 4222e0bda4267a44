/**
 * The userspace driver's copies of two C interfaces, against the headers:
 * every VFIO struct's size and field offsets and every VFIO constant
 * against the guest kernel's <linux/vfio.h>, and every hardware constant
 * against qemu-device/ossa_regs.h, the hardware side's header (function-
 * like macros at queue 0 and 1).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readManifest } from '../../../ci/lib/manifest.js';
import { repoRoot } from '../../../ci/lib/paths.js';
import { fieldSize } from '../../src/struct.js';
import * as H from '../../src/userspace-driver/hw.js';
import { VFIO_CONSTANTS, VFIO_STRUCTS } from '../../src/userspace-driver/vfio-uapi.js';

interface CValues {
  structs: Record<string, { size: number; fields: Record<string, [offset: number, size: number]> }>;
  constants: Record<string, string>;
}

/** The hardware constants of hw.ts, by C expression: plain ones by name, per-queue ones at 0 and 1. */
function hwConstants(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(H)) {
    if (!name.startsWith('OSSA_')) continue;
    if (typeof value === 'number') out[name] = value;
    else if (typeof value === 'function') for (const q of [0, 1]) out[`${name}(${q})`] = (value as (q: number) => number)(q);
  }
  return out;
}

let tmp: string;
let c: CValues;
const hw = hwConstants();

beforeAll(async () => {
  const m = await readManifest();
  const lines = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    // The guest kernel's header by its path; what it includes comes from the host's.
    `#include "${join(m.kernelUapi, 'linux', 'vfio.h')}"`,
    `#include "${join(repoRoot, 'qemu-device', 'ossa_regs.h')}"`,
    'int main(void) {',
    '  printf("{\\"structs\\": {");',
  ];
  VFIO_STRUCTS.forEach((s, i) => {
    lines.push(`  printf("%s\\"${s.name}\\": {\\"size\\": %zu, \\"fields\\": {", "${i ? ',' : ''}", sizeof(struct ${s.name}));`);
    Object.keys(s.fields).forEach((f, j) => {
      lines.push(`  printf("%s\\"${f}\\": [%zu, %zu]", "${j ? ',' : ''}", offsetof(struct ${s.name}, ${f}), sizeof(((struct ${s.name} *)0)->${f}));`);
    });
    lines.push('  printf("}}");');
  });
  lines.push('  printf("}, \\"constants\\": {");');
  // As strings: a 64-bit mask would not survive a JSON number.
  Object.keys({ ...VFIO_CONSTANTS, ...hw }).forEach((name, i) => {
    lines.push(`  printf("%s\\"%s\\": \\"%llu\\"", "${i ? ',' : ''}", ${JSON.stringify(name)}, (unsigned long long)(${name}));`);
  });
  lines.push('  printf("}}\\n");', '  return 0;', '}');
  tmp = await mkdtemp(join(tmpdir(), 'ossa-udrv-layout-'));
  await writeFile(join(tmp, 'layout.c'), lines.join('\n'));
  // The kernel's own uapi header, not yet sanitised by headers_install.
  await execa('cc', ['-Wall', '-Werror', '-D__user=', '-o', join(tmp, 'layout'), join(tmp, 'layout.c')]);
  c = JSON.parse((await execa(join(tmp, 'layout'))).stdout) as CValues;
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('VFIO, as the guest kernel declares it', () => {
  test.each(VFIO_STRUCTS.map((s) => [s.name, s] as const))('struct %s', (name, s) => {
    const fields = Object.fromEntries(Object.entries(s.fields).map(([f, d]) => [f, [d.offset, fieldSize(d.type)] as [number, number]]));
    expect({ size: s.size, fields }).toEqual(c.structs[name]);
  });

  test.each(Object.entries(VFIO_CONSTANTS))('%s', (name, value) => {
    expect(String(value >>> 0)).toBe(c.constants[name]);
  });
});

describe('the ossa hardware, as ossa_regs.h declares it', () => {
  test('hw.ts has the constants the driver uses', () => {
    expect(Object.keys(hw).length).toBeGreaterThan(60);
  });

  test.each(Object.entries(hw))('%s', (name, value) => {
    expect(String(value >>> 0)).toBe(c.constants[name]);
  });
});
