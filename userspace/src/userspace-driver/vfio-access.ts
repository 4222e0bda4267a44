/**
 * A function opened through VFIO (bound to vfio-pci): its group joins a
 * container of its own, BAR0 is mapped from the device file, both MSI-X
 * vectors signal one eventfd, and the arena is mapped through the type1
 * IOMMU. (VFIO's no-IOMMU mode is not offered: Debian's kernels are built
 * without CONFIG_VFIO_NOIOMMU; without an IOMMU, uio-access.ts is the way.)
 */
import { OssaError } from '../errors.js';
import { native } from '../native.js';
import type { DeviceAccess } from './device-access.js';
import type { DmaArena } from './dma.js';
import { readCounter, userDriverError } from './error.js';
import { iommuGroup } from './pci-sysfs.js';
import { VFIO_DEVICE_FLAGS_RESET, VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_MSIX_IRQ_INDEX } from './vfio-uapi.js';
import { Undo } from './undo.js';
import { VfioContainer, VfioGroup } from './vfio.js';

const PCI_COMMAND = 0x04;
const PCI_COMMAND_MEMORY = 0x2;
const PCI_COMMAND_MASTER = 0x4;
/**
 * The lowest IOVA the arena takes when the device reaches 8 GiB or more:
 * an IOVA is no physical address, but one above any address a test aims
 * at below 4 GiB cannot be mistaken for it. (Reserved ranges, the MSI
 * window among them, are left out by the container's IOVA ranges.)
 */
const IOVA_FLOOR = 0x1_0000_0000n;

/** Opens `bdf`, bound to vfio-pci, behind its IOMMU. */
export function openVfio(bdf: string): DeviceAccess {
  const group = iommuGroup(bdf);
  if (group === undefined) throw userDriverError(`${bdf} has no IOMMU group: the machine has no IOMMU for it`, 'ENODEV', 'open');
  const undo = new Undo();
  try {
    const container = VfioContainer.open();
    undo.push(() => container.close());
    const g = VfioGroup.open(`/dev/vfio/${group}`);
    undo.push(() => g.close());
    try {
      g.join(container);
    } catch (err) {
      if (err instanceof OssaError && err.code === 'EPERM') {
        throw userDriverError(
          `${bdf}: vfio_iommu_type1 refuses the group: its IOMMU does not isolate MSI writes (no interrupt remapping); the module's allow_unsafe_interrupts=1 accepts it, without that isolation`,
          'EPERM',
          'VFIO_SET_IOMMU',
          { cause: err },
        );
      }
      throw err;
    }
    const device = g.device(bdf);
    undo.push(() => device.close());
    if (device.info().flags & VFIO_DEVICE_FLAGS_RESET) device.reset();
    const config = device.region(VFIO_PCI_CONFIG_REGION_INDEX);
    device.write(config, PCI_COMMAND, 2, device.read(config, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    const bar = device.mapRegion(device.region(VFIO_PCI_BAR0_REGION_INDEX));
    undo.push(() => native().munmap(bar));
    if (device.irqCount(VFIO_PCI_MSIX_IRQ_INDEX) < 2) {
      throw userDriverError(`${bdf}: no MSI-X with 2 vectors (this driver takes its interrupts as MSI-X through VFIO)`, 'ENOTSUP', 'VFIO_DEVICE_GET_IRQ_INFO');
    }
    // Vector 0 (queue errors, MMU faults) and vector 1 (queue 0's jobs) on
    // one eventfd: one fd to wait for (racing two waits per job cost a NOP
    // job about 1 ms more under TCG). The kernel says, at info level, that
    // the second vector's KVM irq bypass cannot register on the same
    // eventfd: there is no KVM guest here to bypass to.
    const eventfd = native().eventfd();
    undo.push(() => native().close(eventfd));
    device.setIrqEventfds(VFIO_PCI_MSIX_IRQ_INDEX, [eventfd, eventfd]);
    undo.push(() => device.disableIrqs(VFIO_PCI_MSIX_IRQ_INDEX));
    const counter = Buffer.alloc(8);
    return {
      via: 'vfio',
      isolated: true,
      regs: new Uint32Array(bar),
      irqFd: eventfd,
      attach(arena: DmaArena, avoid: readonly bigint[], reach: bigint): void {
        arena.mapThrough(container, reach >= 2n * IOVA_FLOOR ? IOVA_FLOOR : 0n, avoid);
        // The arena's IOVAs go first, before the container that holds them.
        undo.push(() => arena.unmapFromIommu());
      },
      drainIrq(): number {
        return readCounter(eventfd, counter, 'the interrupt eventfd') ? Number(counter.readBigUInt64LE()) : 0;
      },
      rearmIrq(): void {
        // An eventfd needs no re-arming: MSI-X is edge-like.
      },
      close(): void {
        undo.run();
      },
      [Symbol.dispose](): void {
        undo.run();
      },
    };
  } catch (err) {
    undo.runQuietly();
    throw err;
  }
}
