/**
 * The driver's guest tests on Debian's kernel booted with pci=nomsi: no
 * MSI or MSI-X, so the driver takes one INTx for every cause (completions
 * of both queues, queue errors, MMU faults), as on a machine or bus
 * without MSI.
 *
 * The same lane narrows the device's DMA: dma-bits=32 in a guest with
 * 5 GiB of RAM, most of it above 4 GiB and no IOMMU, so that every bus
 * address the driver hands the device (rings, context table, page tables,
 * the pages of BOs) must come from below 4 GiB; the device fails anything
 * above (docs/hardware.md, section 9). One boot serves both: each lane is
 * a run of the driver's tests, and CI's time is short.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ interrupts: 'intx', dma: 'dma32', files: 'driver' });
