import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DEBUG_CONFIG } from '../lib/debug-kernel.js';
import { droppedSettings, fragmentSettings, GUEST_CONFIG } from '../lib/kernel-source-build.js';
import { repoRoot } from '../lib/paths.js';

const settingsOf = (file: string): Map<string, string> => fragmentSettings(readFileSync(join(repoRoot, file), 'utf8'));

describe('guest kernel config fragments', () => {
  const guest = settingsOf(GUEST_CONFIG);
  const debug = settingsOf(DEBUG_CONFIG);

  test('the guest fragment asks for what the image and the suite need', () => {
    for (const sym of [
      'CONFIG_VIRTIO_CONSOLE', 'CONFIG_BLK_DEV_INITRD', 'CONFIG_DEVTMPFS', 'CONFIG_MODULES', 'CONFIG_DRM_ACCEL',
      'CONFIG_DRM_ACCEL_OSSA', 'CONFIG_DRM_VGEM', 'CONFIG_UDMABUF', 'CONFIG_FTRACE_SYSCALLS', 'CONFIG_DEBUG_FS',
      'CONFIG_HOTPLUG_PCI_PCIE', 'CONFIG_BLK_DEV_NVME', 'CONFIG_EVENTFD', 'CONFIG_MAGIC_SYSRQ',
    ]) {
      expect(guest.get(sym), sym).toMatch(/^[ym]$/);
    }
  });

  test('the debug fragment asks for every checker the suite relies on', () => {
    for (const sym of [
      'CONFIG_KASAN_GENERIC', 'CONFIG_PROVE_LOCKING', 'CONFIG_DEBUG_ATOMIC_SLEEP', 'CONFIG_PROVE_RCU',
      'CONFIG_DEBUG_OBJECTS_TIMERS', 'CONFIG_DEBUG_OBJECTS_WORK', 'CONFIG_DEBUG_OBJECTS_RCU_HEAD', 'CONFIG_DEBUG_LIST',
      'CONFIG_DEBUG_KMEMLEAK', 'CONFIG_DMA_API_DEBUG', 'CONFIG_FAILSLAB', 'CONFIG_FAIL_PAGE_ALLOC',
      'CONFIG_FAULT_INJECTION_DEBUG_FS', 'CONFIG_GCOV_KERNEL',
    ]) {
      expect(debug.get(sym), sym).toMatch(/^[ym]$/);
    }
  });

  test('no setting is in both: the debug kernel is the guest kernel plus its checkers', () => {
    expect([...debug.keys()].filter((s) => guest.has(s))).toEqual([]);
  });

  test('a setting Kconfig dropped is named, with what it became', () => {
    const config = '# CONFIG_KASAN is not set\nCONFIG_DEBUG_LIST=y\nCONFIG_NR_CPUS=4\n';
    const want = fragmentSettings('CONFIG_KASAN=y\nCONFIG_DEBUG_LIST=y\n# CONFIG_SLUB_TINY is not set\nCONFIG_NR_CPUS=8\n');
    expect(droppedSettings(want, config)).toEqual(['CONFIG_KASAN=y (got n)', 'CONFIG_NR_CPUS=8 (got 4)']);
  });
});
