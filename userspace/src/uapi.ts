/**
 * The ossa uapi, include/uapi/drm/ossa_accel.h, in TypeScript: ioctl
 * numbers, constants and struct layouts. A host test compiles the C header
 * and checks every value here against it.
 */
import { DRM_COMMAND_BASE } from './drm.js';
import { DRM_IOCTL_BASE, iow, iowr } from './ioctl.js';
import { defineStruct } from './struct.js';

export const DrmOssaGetParam = defineStruct('drm_ossa_get_param', [
  ['param', 'u32'],
  ['pad', 'u32'],
  ['value', 'u64'],
]);

export const DrmOssaBoCreate = defineStruct('drm_ossa_bo_create', [
  ['size', 'u64'],
  ['flags', 'u32'],
  ['handle', 'u32'],
  ['va', 'u64'],
]);

export const DrmOssaBoMmapOffset = defineStruct('drm_ossa_bo_mmap_offset', [
  ['handle', 'u32'],
  ['pad', 'u32'],
  ['offset', 'u64'],
]);

export const DrmOssaBoInfo = defineStruct('drm_ossa_bo_info', [
  ['handle', 'u32'],
  ['flags', 'u32'],
  ['size', 'u64'],
  ['va', 'u64'],
]);

export const DrmOssaObjArray = defineStruct('drm_ossa_obj_array', [
  ['array', 'u64'],
  ['count', 'u32'],
  ['stride', 'u32'],
]);

export const DrmOssaBoRef = defineStruct('drm_ossa_bo_ref', [
  ['handle', 'u32'],
  ['flags', 'u32'],
]);

export const DrmOssaSync = defineStruct('drm_ossa_sync', [
  ['handle', 'u32'],
  ['flags', 'u32'],
  ['point', 'u64'],
]);

/** A struct drm_ossa_obj_array member, as its three fields. */
const objArray = <const N extends string>(name: N) =>
  [
    [`${name}.array`, 'u64'],
    [`${name}.count`, 'u32'],
    [`${name}.stride`, 'u32'],
  ] as const;

export const DrmOssaJob = defineStruct('drm_ossa_job', [
  ['cmd_va', 'u64'],
  ['cmd_size', 'u32'],
  ['queue', 'u32'],
  ...objArray('bos'),
  ...objArray('syncs'),
  ['flags', 'u32'],
  ['status', 's32'],
]);

export const DrmOssaSubmit = defineStruct('drm_ossa_submit', [...objArray('jobs'), ['flags', 'u32'], ['pad', 'u32']]);

export const DrmOssaBoWait = defineStruct('drm_ossa_bo_wait', [
  ['handle', 'u32'],
  ['flags', 'u32'],
  ['timeout_ns', 's64'],
  ['job_status', 'u32'],
  ['pad', 'u32'],
]);

/**
 * The uapi version these layouts are: the driver version's major number
 * (DRM_IOCTL_VERSION) of a driver that speaks it.
 */
export const OSSA_UAPI_MAJOR = 2;

/** Every uapi struct, for the layout check. */
export const OSSA_STRUCTS = [
  DrmOssaGetParam,
  DrmOssaBoCreate,
  DrmOssaBoMmapOffset,
  DrmOssaBoInfo,
  DrmOssaObjArray,
  DrmOssaBoRef,
  DrmOssaSync,
  DrmOssaJob,
  DrmOssaSubmit,
  DrmOssaBoWait,
] as const;

const ossaIoctl = (nr: number, size: number): number => iowr(DRM_IOCTL_BASE, DRM_COMMAND_BASE + nr, size);
const ossaIoctlW = (nr: number, size: number): number => iow(DRM_IOCTL_BASE, DRM_COMMAND_BASE + nr, size);

export const DRM_IOCTL_OSSA_GET_PARAM = ossaIoctl(0x00, DrmOssaGetParam.size);
export const DRM_IOCTL_OSSA_BO_CREATE = ossaIoctl(0x01, DrmOssaBoCreate.size);
export const DRM_IOCTL_OSSA_BO_MMAP_OFFSET = ossaIoctl(0x02, DrmOssaBoMmapOffset.size);
export const DRM_IOCTL_OSSA_BO_INFO = ossaIoctl(0x03, DrmOssaBoInfo.size);
/** _IOW: SUBMIT writes back only each job's status, in the job array. */
export const DRM_IOCTL_OSSA_SUBMIT = ossaIoctlW(0x04, DrmOssaSubmit.size);
export const DRM_IOCTL_OSSA_BO_WAIT = ossaIoctl(0x05, DrmOssaBoWait.size);

/** Constants of the header, by their C names. */
export const OSSA_CONSTANTS = {
  DRM_IOCTL_OSSA_GET_PARAM,
  DRM_IOCTL_OSSA_BO_CREATE,
  DRM_IOCTL_OSSA_BO_MMAP_OFFSET,
  DRM_IOCTL_OSSA_BO_INFO,
  DRM_IOCTL_OSSA_SUBMIT,
  DRM_IOCTL_OSSA_BO_WAIT,
  DRM_OSSA_PARAM_HW_VERSION: 0,
  DRM_OSSA_PARAM_NUM_QUEUES: 1,
  DRM_OSSA_PARAM_VA_START: 2,
  DRM_OSSA_PARAM_VA_SIZE: 3,
  DRM_OSSA_PARAM_MAX_CMD_SIZE: 4,
  DRM_OSSA_PARAM_MAX_BO_SIZE: 5,
  DRM_OSSA_PARAM_JOB_TIMEOUT_MS: 6,
  DRM_OSSA_BO_DEVICE_READ_ONLY: 0x1,
  DRM_OSSA_BO_REF_READ: 0x1,
  DRM_OSSA_BO_REF_WRITE: 0x2,
  DRM_OSSA_SYNC_WAIT: 0x1,
  DRM_OSSA_SYNC_SIGNAL: 0x2,
  DRM_OSSA_JOB_STATUS_SUCCESS: 0,
  DRM_OSSA_JOB_STATUS_MMU_FAULT: 1,
  DRM_OSSA_JOB_STATUS_INVALID: 2,
  DRM_OSSA_JOB_STATUS_ERROR: 3,
  DRM_OSSA_JOB_STATUS_TIMEOUT: 4,
  DRM_OSSA_JOB_STATUS_CANCELED: 5,
} as const;

/** DRM_OSSA_PARAM_*: what Device.param() can ask for. */
export const Param = {
  hwVersion: OSSA_CONSTANTS.DRM_OSSA_PARAM_HW_VERSION,
  numQueues: OSSA_CONSTANTS.DRM_OSSA_PARAM_NUM_QUEUES,
  vaStart: OSSA_CONSTANTS.DRM_OSSA_PARAM_VA_START,
  vaSize: OSSA_CONSTANTS.DRM_OSSA_PARAM_VA_SIZE,
  maxCmdSize: OSSA_CONSTANTS.DRM_OSSA_PARAM_MAX_CMD_SIZE,
  maxBoSize: OSSA_CONSTANTS.DRM_OSSA_PARAM_MAX_BO_SIZE,
  jobTimeoutMs: OSSA_CONSTANTS.DRM_OSSA_PARAM_JOB_TIMEOUT_MS,
} as const;
export type ParamName = keyof typeof Param;

/** DRM_OSSA_JOB_STATUS_*, as names. */
export const JOB_STATUS_NAMES = ['success', 'mmu-fault', 'invalid', 'error', 'hung', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUS_NAMES)[number];
