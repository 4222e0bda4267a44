/**
 * The code checks of `npm run check`, as tests: each must report nothing.
 * checkpatch and kernel-doc run once per file set; the driver build runs
 * with W=1 and sparse.
 */
import { describe, expect, test } from 'vitest';
import { CHECKS } from '../lib/checks.js';

describe('code checks (npm run check)', () => {
  test.each(Object.entries(CHECKS))('%s: no warnings', async (_name, run) => {
    expect(await run()).toEqual([]);
  }, 300_000);
});
