/** The ossa library: devices, buffers, jobs and syncobjs over the ossa DRM accel driver. */
export { type BufferInfo, type BufferOptions, DeviceBuffer } from './buffer.js';
export { type Address, CommandStream } from './commands.js';
export { type AccelNode, accelNodes } from './discovery.js';
export { Device, type BufferUse, type DeviceInfo, type JobSpec, type TimelinePoint } from './device.js';
export { isDeviceGone, OssaError, SubmitError } from './errors.js';
export { type ClientUsage, drmClients, type FdUsage, fdUsage, parseFdinfo } from './fdinfo.js';
export { Fence, type FenceState, Syncobj, type WaitOptions } from './syncobj.js';
// The uapi and the DRM core ioctls: numbers, constants and struct layouts,
// for callers that issue ioctls of their own through Device.ioctl().
export * from './drm.js';
export * from './uapi.js';
export { defineStruct, type FieldType, Struct, type StructDef } from './struct.js';
