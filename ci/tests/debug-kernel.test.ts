import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { droppedSettings, fragmentSettings } from '../lib/debug-kernel.js';
import { repoRoot } from '../lib/paths.js';

describe('debug kernel config fragment', () => {
  const fragment = fragmentSettings(readFileSync(join(repoRoot, 'images/debug-kernel/debug.config'), 'utf8'));

  test('asks for every checker the suite relies on', () => {
    for (const sym of [
      'CONFIG_KASAN_GENERIC', 'CONFIG_PROVE_LOCKING', 'CONFIG_DEBUG_ATOMIC_SLEEP', 'CONFIG_PROVE_RCU',
      'CONFIG_DEBUG_OBJECTS_TIMERS', 'CONFIG_DEBUG_OBJECTS_WORK', 'CONFIG_DEBUG_OBJECTS_RCU_HEAD', 'CONFIG_DEBUG_LIST',
      'CONFIG_DEBUG_KMEMLEAK', 'CONFIG_DMA_API_DEBUG', 'CONFIG_FAILSLAB', 'CONFIG_FAIL_PAGE_ALLOC',
      'CONFIG_FAULT_INJECTION_DEBUG_FS', 'CONFIG_GCOV_KERNEL', 'CONFIG_FTRACE_SYSCALLS', 'CONFIG_DRM_ACCEL_OSSA',
    ]) {
      expect(fragment.get(sym), sym).toMatch(/^[ym]$/);
    }
  });

  test('a setting Kconfig dropped is named, with what it became', () => {
    const config = '# CONFIG_KASAN is not set\nCONFIG_DEBUG_LIST=y\nCONFIG_NR_CPUS=4\n';
    const want = fragmentSettings('CONFIG_KASAN=y\nCONFIG_DEBUG_LIST=y\n# CONFIG_SLUB_TINY is not set\nCONFIG_NR_CPUS=8\n');
    expect(droppedSettings(want, config)).toEqual(['CONFIG_KASAN=y (got n)', 'CONFIG_NR_CPUS=8 (got 4)']);
  });
});
