/**
 * Debian stable's kernel in QEMU 10.0.2 with the device behind intel-iommu:
 * the vIOMMU lane as it ran before `npm test` moved it to the newest pair,
 * so that 6.12's IOMMU paths are still run (npm run test:matrix).
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

// Debian's kernel even when OSSA_KERNEL_TREE is set: images/guest.config has no IOMMU driver.
await defineGuestSuite({ kernel: 'debian', iommu: 'intel' });
