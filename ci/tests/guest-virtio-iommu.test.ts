/**
 * The driver's guest tests on Debian's kernel with the device behind
 * virtio-iommu (virtio-iommu-pci, described to the guest by ACPI VIOT;
 * strict invalidation): as with intel-iommu, every DMA of the device goes
 * through IOVAs the driver mapped. The device runs in QEMU's ASan and gcov
 * build: a memory error of the device, under a real driver and with its
 * translations going through an IOMMU, stops QEMU and fails the lane.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

// Debian's kernel even when OSSA_KERNEL_TREE is set: images/guest.config
// has no virtio-iommu driver, and a lab's config need not have one.
await defineGuestSuite({ kernel: 'debian', iommu: 'virtio', device: 'asan', files: 'driver' });
