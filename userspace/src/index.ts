export { type BufferInfo, type BufferOptions, DeviceBuffer } from './buffer.js';
export { type Address, CommandStream } from './commands.js';
export { Device, type BufferUse, type DeviceInfo, type JobSpec, type TimelinePoint } from './device.js';
export type { DriverVersion } from './drm.js';
export { isDeviceGone, OssaError, SubmitError } from './errors.js';
export { Fence, type FenceState, Syncobj } from './syncobj.js';
export type { JobStatus, ParamName } from './uapi.js';
