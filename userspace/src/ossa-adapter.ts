/**
 * The accel-core kit's adapter for ossa: buffers from DRM_IOCTL_OSSA_BO_CREATE,
 * mapped at the offset DRM_IOCTL_OSSA_BO_MMAP_OFFSET gives.
 */
import type { AccelAdapter } from './accel-core/adapter.js';
import type { AccelFile } from './accel-core/file.js';
import { Struct } from './struct.js';
import { DRM_IOCTL_OSSA_BO_CREATE, DRM_IOCTL_OSSA_BO_MMAP_OFFSET, DrmOssaBoCreate, DrmOssaBoMmapOffset } from './uapi.js';

export const adapter = {
  driver: 'ossa',
  createBuffer(file: AccelFile, size: number): number {
    const s = Struct.from(DrmOssaBoCreate, { size });
    file.ioctl('DRM_IOCTL_OSSA_BO_CREATE', DRM_IOCTL_OSSA_BO_CREATE, s.bytes);
    return s.num('handle');
  },
  mmapOffset(file: AccelFile, handle: number): bigint {
    const s = Struct.from(DrmOssaBoMmapOffset, { handle });
    file.ioctl('DRM_IOCTL_OSSA_BO_MMAP_OFFSET', DRM_IOCTL_OSSA_BO_MMAP_OFFSET, s.bytes);
    return s.big('offset');
  },
  ioctls: { createBuffer: 'BO_CREATE', mmapOffset: 'BO_MMAP_OFFSET' },
} satisfies AccelAdapter;

/** Where the adapter is, for loadAdapter() and for child processes. */
export const OSSA_ADAPTER_MODULE = new URL(import.meta.url);
