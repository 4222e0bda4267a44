/**
 * The guest suite with the device behind QEMU's intel-iommu (VT-d;
 * intel_iommu=on, strict invalidation): every DMA of the device, its
 * page-table walks included, goes through IOVAs the driver mapped, and an
 * IOVA is gone once unmapped. This lane runs the newest kernel Debian serves
 * in the newest QEMU the archive serves, so that `npm test` covers the pair a
 * driver author submits against without a lane of its own (the other lanes
 * run Debian stable's 6.12 in QEMU 10.0.2; `npm run test:matrix` runs all
 * four pairs without an IOMMU, and 6.12 behind intel-iommu).
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ kernel: 'newest', qemu: 'newest', iommu: 'intel' });
