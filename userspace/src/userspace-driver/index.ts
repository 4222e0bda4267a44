/**
 * The ossa device driven from userspace, beside the kernel driver: over
 * VFIO (behind an IOMMU) or over UIO (without one), for comparing
 * the models (docs/userspace-drivers.md).
 */
export type { DeviceAccess } from './device-access.js';
export { DmaArena, physicalAddress } from './dma.js';
export { bindDriver, boundDriver, iommuGroup, ossaFunctions } from './pci-sysfs.js';
export { OssaUserDriver, type UserBuffer, type UserDriverOptions, type UserFault, type UserJobResult, VA_BASE } from './ossa-user-driver.js';
export { type IovaRange, VfioContainer, VfioDevice, VfioGroup, type VfioRegion } from './vfio.js';
