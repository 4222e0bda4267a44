/**
 * The accel-core kit: the DRM accel core's conformance tier, runnable
 * against any /dev/accel driver. It uses the DRM core's ioctls only;
 * what it needs of a driver (a buffer the CPU can map) comes from an
 * adapter. Nothing here imports a driver's own uapi (a test enforces it).
 */
export { type AccelAdapter, AdapterError, type LoadedAdapter, loadAdapter } from './adapter.js';
export * from './children.js';
export * from './file.js';
export * from './ktap.js';
export * from './objects.js';
export * from './run.js';
export * from './tier.js';
// The generic layer an adapter packs its own ioctls with.
export type { DriverVersion } from '../drm.js';
export { DRM_IOCTL_BASE, io, ior, iow, iowr } from '../ioctl.js';
export { defineStruct, Struct, type StructDef } from '../struct.js';
