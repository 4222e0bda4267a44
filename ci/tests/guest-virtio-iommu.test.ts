/**
 * The guest suite on Debian's kernel with the device behind virtio-iommu
 * (virtio-iommu-pci, described to the guest by ACPI VIOT; strict
 * invalidation): as with intel-iommu, every DMA of the device goes through
 * IOVAs the driver mapped.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ iommu: 'virtio' });
