import { realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Device } from '../../src/index.js';

describe('DRM_IOCTL_VERSION', () => {
  // Whichever /dev/accel/accelN the ossa device got (OSSA_CONFORMANCE_NODE,
  // or the first node whose driver is ossa), not a fixed accel0.
  test('the ossa accel node is the ossa driver', () => {
    using dev = Device.open(process.env.OSSA_CONFORMANCE_NODE);
    expect(dev.path).toMatch(/^\/dev\/accel\/accel\d+$/);
    expect(statSync(dev.path).isCharacterDevice()).toBe(true);
    const version = dev.version();
    expect(version.name).toBe('ossa');
    expect(version.desc).toMatch(/accelerator/i);
    // sysfs agrees: the node's PCI device is bound to the ossa driver.
    expect(basename(realpathSync(join('/sys/class/accel', basename(dev.path), 'device', 'driver')))).toBe('ossa');
  });
});
