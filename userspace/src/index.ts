export { Device } from './device.js';
export type { DriverVersion } from './drm.js';
export { OssaError } from './errors.js';
