/**
 * The DRM core ioctls every accel driver answers, with their struct layouts
 * (x86_64, <drm/drm.h>).
 */
import { DRM_IOCTL_BASE, iow, iowr } from './ioctl.js';
import { defineStruct } from './struct.js';

/** The first driver-specific ioctl number. */
export const DRM_COMMAND_BASE = 0x40;

export const DrmVersion = defineStruct('drm_version', [
  ['version_major', 's32'],
  ['version_minor', 's32'],
  ['version_patchlevel', 's32'],
  ['name_len', 'u64'],
  ['name', 'u64'],
  ['date_len', 'u64'],
  ['date', 'u64'],
  ['desc_len', 'u64'],
  ['desc', 'u64'],
]);

export const DrmGemClose = defineStruct('drm_gem_close', [
  ['handle', 'u32'],
  ['pad', 'u32'],
]);

export const DrmPrimeHandle = defineStruct('drm_prime_handle', [
  ['handle', 'u32'],
  ['flags', 'u32'],
  ['fd', 's32'],
]);

export const DrmSyncobjCreate = defineStruct('drm_syncobj_create', [
  ['handle', 'u32'],
  ['flags', 'u32'],
]);

export const DrmSyncobjDestroy = defineStruct('drm_syncobj_destroy', [
  ['handle', 'u32'],
  ['pad', 'u32'],
]);

export const DrmSyncobjHandle = defineStruct('drm_syncobj_handle', [
  ['handle', 'u32'],
  ['flags', 'u32'],
  ['fd', 's32'],
  ['pad', 'u32'],
]);

export const DrmSyncobjWait = defineStruct('drm_syncobj_wait', [
  ['handles', 'u64'],
  ['timeout_nsec', 's64'],
  ['count_handles', 'u32'],
  ['flags', 'u32'],
  ['first_signaled', 'u32'],
  ['pad', 'u32'],
  ['deadline_nsec', 'u64'],
]);

export const DrmSyncobjArray = defineStruct('drm_syncobj_array', [
  ['handles', 'u64'],
  ['count_handles', 'u32'],
  ['pad', 'u32'],
]);

export const DrmSyncobjTimelineWait = defineStruct('drm_syncobj_timeline_wait', [
  ['handles', 'u64'],
  ['points', 'u64'],
  ['timeout_nsec', 's64'],
  ['count_handles', 'u32'],
  ['flags', 'u32'],
  ['first_signaled', 'u32'],
  ['pad', 'u32'],
  ['deadline_nsec', 'u64'],
]);

export const DrmSyncobjTimelineArray = defineStruct('drm_syncobj_timeline_array', [
  ['handles', 'u64'],
  ['points', 'u64'],
  ['count_handles', 'u32'],
  ['flags', 'u32'],
]);

export const DrmSyncobjTransfer = defineStruct('drm_syncobj_transfer', [
  ['src_handle', 'u32'],
  ['dst_handle', 'u32'],
  ['src_point', 'u64'],
  ['dst_point', 'u64'],
  ['flags', 'u32'],
  ['pad', 'u32'],
]);

export const DrmSyncobjEventfd = defineStruct('drm_syncobj_eventfd', [
  ['handle', 'u32'],
  ['flags', 'u32'],
  ['point', 'u64'],
  ['fd', 's32'],
  ['pad', 'u32'],
]);

/** <linux/sync_file.h> */
export const SyncFileInfo = defineStruct('sync_file_info', [
  ['name', 'u8[32]'],
  ['status', 's32'],
  ['flags', 'u32'],
  ['num_fences', 'u32'],
  ['pad', 'u32'],
  ['sync_fence_info', 'u64'],
]);

export const DRM_IOCTL_VERSION = iowr(DRM_IOCTL_BASE, 0x00, DrmVersion.size);
export const DRM_IOCTL_GEM_CLOSE = iow(DRM_IOCTL_BASE, 0x09, DrmGemClose.size);
export const DRM_IOCTL_PRIME_HANDLE_TO_FD = iowr(DRM_IOCTL_BASE, 0x2d, DrmPrimeHandle.size);
export const DRM_IOCTL_PRIME_FD_TO_HANDLE = iowr(DRM_IOCTL_BASE, 0x2e, DrmPrimeHandle.size);
export const DRM_IOCTL_SYNCOBJ_CREATE = iowr(DRM_IOCTL_BASE, 0xbf, DrmSyncobjCreate.size);
export const DRM_IOCTL_SYNCOBJ_DESTROY = iowr(DRM_IOCTL_BASE, 0xc0, DrmSyncobjDestroy.size);
export const DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD = iowr(DRM_IOCTL_BASE, 0xc1, DrmSyncobjHandle.size);
export const DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE = iowr(DRM_IOCTL_BASE, 0xc2, DrmSyncobjHandle.size);
export const DRM_IOCTL_SYNCOBJ_WAIT = iowr(DRM_IOCTL_BASE, 0xc3, DrmSyncobjWait.size);
export const DRM_IOCTL_SYNCOBJ_RESET = iowr(DRM_IOCTL_BASE, 0xc4, DrmSyncobjArray.size);
export const DRM_IOCTL_SYNCOBJ_SIGNAL = iowr(DRM_IOCTL_BASE, 0xc5, DrmSyncobjArray.size);
export const DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT = iowr(DRM_IOCTL_BASE, 0xca, DrmSyncobjTimelineWait.size);
export const DRM_IOCTL_SYNCOBJ_QUERY = iowr(DRM_IOCTL_BASE, 0xcb, DrmSyncobjTimelineArray.size);
export const DRM_IOCTL_SYNCOBJ_TRANSFER = iowr(DRM_IOCTL_BASE, 0xcc, DrmSyncobjTransfer.size);
export const DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL = iowr(DRM_IOCTL_BASE, 0xcd, DrmSyncobjTimelineArray.size);
export const DRM_IOCTL_SYNCOBJ_EVENTFD = iowr(DRM_IOCTL_BASE, 0xcf, DrmSyncobjEventfd.size);
export const SYNC_IOC_FILE_INFO = iowr('>'.charCodeAt(0), 4, SyncFileInfo.size);

export const DRM_CLOEXEC = 0o2000000;
export const DRM_RDWR = 0o2;
export const DRM_SYNCOBJ_CREATE_SIGNALED = 0x1;
export const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE = 0x1;
export const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE = 0x1;
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL = 0x1;
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT = 0x2;
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE = 0x4;

/** Core structs and constants, for the layout check against the C headers. */
export const DRM_STRUCTS = [
  DrmVersion,
  DrmGemClose,
  DrmPrimeHandle,
  DrmSyncobjCreate,
  DrmSyncobjDestroy,
  DrmSyncobjHandle,
  DrmSyncobjWait,
  DrmSyncobjArray,
  DrmSyncobjTimelineWait,
  DrmSyncobjTimelineArray,
  DrmSyncobjTransfer,
  DrmSyncobjEventfd,
  SyncFileInfo,
] as const;

export const DRM_CONSTANTS = {
  DRM_IOCTL_VERSION,
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_PRIME_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_DESTROY,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_WAIT,
  DRM_IOCTL_SYNCOBJ_RESET,
  DRM_IOCTL_SYNCOBJ_SIGNAL,
  DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
  DRM_IOCTL_SYNCOBJ_QUERY,
  DRM_IOCTL_SYNCOBJ_TRANSFER,
  DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
  DRM_IOCTL_SYNCOBJ_EVENTFD,
  SYNC_IOC_FILE_INFO,
  DRM_CLOEXEC,
  DRM_RDWR,
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
} as const;

/** What DRM_IOCTL_VERSION reports. */
export interface DriverVersion {
  name: string;
  major: number;
  minor: number;
  patchlevel: number;
  date: string;
  desc: string;
}
