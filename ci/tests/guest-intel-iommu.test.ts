/**
 * The guest suite on Debian's kernel with the device behind QEMU's
 * intel-iommu (VT-d; intel_iommu=on, strict invalidation): every DMA of the
 * device, its page-table walks included, goes through IOVAs the driver
 * mapped, and an IOVA is gone once unmapped.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ iommu: 'intel' });
