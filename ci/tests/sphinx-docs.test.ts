/** Which lines of a Sphinx build are warnings, and which of them are ossa's (ci/lib/sphinx-docs.ts). */
import { describe, expect, test } from 'vitest';
import { ossaWarnings, sphinxWarnings } from '../lib/sphinx-docs.js';

// Lines as `make SPHINXDIRS=accel htmldocs` and sphinx-build print them.
const OUTPUT = [
  'Using alabaster theme',
  'WARNING: dot(1) not found, for better output quality install graphviz from https://www.graphviz.org',
  "/w/Documentation/accel/amdxdna/amdnpu.rst:278: WARNING: undefined label: 'drm-client-usage-stats'",
  '/w/Documentation/accel/ossa/index.rst:40: ERROR: Malformed table.',
  '/w/include/uapi/drm/ossa_accel.h:120: WARNING: Duplicate C declaration, also defined at accel/ossa/index:2.',
  '/w/docs/specs/ossa.rst:12: WARNING: Title underline too short.',
  'reading sources... [100%] accel/ossa/index',
].join('\n');

describe('Sphinx output', () => {
  test('warnings and errors are picked out, progress lines are not', () => {
    expect(sphinxWarnings(OUTPUT)).toHaveLength(5);
  });

  test("ossa's are those naming its pages or its uapi header", () => {
    expect(ossaWarnings(sphinxWarnings(OUTPUT)).map((w) => w.split(':')[0])).toEqual([
      '/w/Documentation/accel/ossa/index.rst',
      '/w/include/uapi/drm/ossa_accel.h',
      '/w/docs/specs/ossa.rst',
    ]);
  });
});
