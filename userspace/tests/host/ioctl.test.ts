import { describe, expect, test } from 'vitest';
import { DRM_IOCTL_VERSION } from '../../src/drm.js';
import { DRM_IOCTL_BASE, io, ior, iow, iowr } from '../../src/ioctl.js';

describe('ioctl request numbers', () => {
  test('DRM_IOCTL_VERSION matches <drm/drm.h> on x86_64', () => {
    // _IOWR('d', 0x00, struct drm_version), struct drm_version being 64 bytes.
    expect(DRM_IOCTL_VERSION).toBe(0xc0406400);
  });

  test('direction bits', () => {
    expect(io(DRM_IOCTL_BASE, 0x01)).toBe(0x6401);
    expect(ior(DRM_IOCTL_BASE, 0x01, 8)).toBe(0x80086401);
    expect(iow(DRM_IOCTL_BASE, 0x09, 8)).toBe(0x40086409); // DRM_IOCTL_GEM_CLOSE
    expect(iowr(DRM_IOCTL_BASE, 0x2d, 12)).toBe(0xc00c642d); // DRM_IOCTL_PRIME_HANDLE_TO_FD
  });

  test('argument sizes beyond 14 bits are refused', () => {
    expect(() => iowr(DRM_IOCTL_BASE, 0, 1 << 14)).toThrow(RangeError);
    expect(() => iowr(DRM_IOCTL_BASE, 0, -1)).toThrow(RangeError);
  });
});
