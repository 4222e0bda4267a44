/**
 * The TypeScript layouts and constants against the C headers: a program
 * compiled from ossa_accel.h and the guest kernel's drm.h prints every
 * struct's size, every field's offset and size, and every constant.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readManifest } from '../../../ci/lib/manifest.js';
import { repoRoot } from '../../../ci/lib/paths.js';
import { DRM_CONSTANTS, DRM_STRUCTS } from '../../src/drm.js';
import { fieldSize, type StructDef } from '../../src/struct.js';
import { OSSA_CONSTANTS, OSSA_STRUCTS } from '../../src/uapi.js';

const structs: ReadonlyArray<StructDef<string>> = [...DRM_STRUCTS, ...OSSA_STRUCTS];
const constants: Record<string, number> = { ...OSSA_CONSTANTS, ...DRM_CONSTANTS };

interface CLayout {
  structs: Record<string, { size: number; fields: Record<string, [offset: number, size: number]> }>;
  constants: Record<string, number>;
}

function program(): string {
  const lines = [
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <fcntl.h>',
    '#include <linux/sync_file.h>',
    '#include "ossa_accel.h"',
    '#define DRM_CLOEXEC O_CLOEXEC',
    '#define DRM_RDWR O_RDWR',
    'int main(void) {',
    '  printf("{\\"structs\\": {");',
  ];
  structs.forEach((s, i) => {
    lines.push(`  printf("%s\\"${s.name}\\": {\\"size\\": %zu, \\"fields\\": {", "${i ? ',' : ''}", sizeof(struct ${s.name}));`);
    Object.keys(s.fields).forEach((f, j) => {
      lines.push(
        `  printf("%s\\"${f}\\": [%zu, %zu]", "${j ? ',' : ''}", offsetof(struct ${s.name}, ${f}), sizeof(((struct ${s.name} *)0)->${f}));`,
      );
    });
    lines.push('  printf("}}");');
  });
  lines.push('  printf("}, \\"constants\\": {");');
  Object.keys(constants).forEach((c, i) => {
    lines.push(`  printf("%s\\"${c}\\": %llu", "${i ? ',' : ''}", (unsigned long long)(${c}));`);
  });
  lines.push('  printf("}}\\n");', '  return 0;', '}');
  return lines.join('\n');
}

let tmp: string;
let c: CLayout;

beforeAll(async () => {
  const m = await readManifest();
  tmp = await mkdtemp(join(tmpdir(), 'ossa-layout-'));
  await writeFile(join(tmp, 'layout.c'), program());
  await execa('cc', [
    '-Wall',
    '-Werror',
    // The kernel's own uapi headers, not yet sanitised by headers_install.
    '-D__user=',
    '-I',
    join(repoRoot, 'kernel-driver/include/uapi/drm'),
    '-I',
    join(m.kernelUapi, 'drm'),
    '-o',
    join(tmp, 'layout'),
    join(tmp, 'layout.c'),
  ]);
  c = JSON.parse((await execa(join(tmp, 'layout'))).stdout) as CLayout;
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('uapi layouts match the C headers', () => {
  test.each(structs.map((s) => [s.name, s] as const))('struct %s', (name, s) => {
    const fromC = c.structs[name];
    expect(fromC, `${name} missing from the C output`).toBeDefined();
    const fields = Object.fromEntries(
      Object.entries(s.fields).map(([f, d]) => [f, [d.offset, fieldSize(d.type)] as [number, number]]),
    );
    expect({ size: s.size, fields }).toEqual(fromC);
  });

  test.each(Object.entries(constants))('%s', (name, value) => {
    expect(value).toBe(c.constants[name]);
  });

  test('every ossa struct is a multiple of 8 bytes', () => {
    for (const s of OSSA_STRUCTS) expect(s.size % 8, s.name).toBe(0);
  });
});
