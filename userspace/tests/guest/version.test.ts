import { describe, expect, test } from 'vitest';
import { Device } from '../../src/index.js';

describe('DRM_IOCTL_VERSION', () => {
  test('/dev/accel/accel0 is the ossa driver', () => {
    using dev = Device.open('/dev/accel/accel0');
    const version = dev.version();
    expect(version.name).toBe('ossa');
    expect(version.desc).toMatch(/accelerator/i);
  });
});
