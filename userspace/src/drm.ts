/**
 * The DRM core ioctls every accel driver answers, with their struct layouts
 * (x86_64, from <drm/drm.h>).
 */
import { DRM_IOCTL_BASE, iowr } from './ioctl.js';

/** struct drm_version: 64 bytes. */
export const DRM_VERSION_SIZE = 64;
export const DrmVersionLayout = {
  version_major: 0,
  version_minor: 4,
  version_patchlevel: 8,
  name_len: 16,
  name: 24,
  date_len: 32,
  date: 40,
  desc_len: 48,
  desc: 56,
} as const;

export const DRM_IOCTL_VERSION = iowr(DRM_IOCTL_BASE, 0x00, DRM_VERSION_SIZE);

/** What DRM_IOCTL_VERSION reports. */
export interface DriverVersion {
  name: string;
  major: number;
  minor: number;
  patchlevel: number;
  date: string;
  desc: string;
}
