/**
 * What a userspace driver needs of the kernel to drive a PCI function: its
 * registers mapped, an fd that becomes readable on an interrupt, and bus
 * addresses for its memory. VFIO and UIO give these differently; the
 * driver (ossa-user-driver.ts) is the same over both.
 */
import type { DmaArena } from './dma.js';

export interface DeviceAccess extends Disposable {
  /** 'vfio' (vfio-pci, behind the type1 IOMMU) or 'uio' (uio_pci_generic, no IOMMU). */
  readonly via: 'vfio' | 'uio';
  /** Whether an IOMMU keeps the device inside the memory it was given. */
  readonly isolated: boolean;
  /** BAR0, mapped: 32-bit registers. */
  readonly regs: Uint32Array;
  /** Readable when the device interrupts. */
  readonly irqFd: number;
  /**
   * Gives the arena its bus addresses: IOVAs the IOMMU maps (none of them
   * one of `avoid`, all below `reach`), or, without an IOMMU, its pages'
   * physical addresses.
   */
  attach(arena: DmaArena, avoid: readonly bigint[], reach: bigint): void;
  /** Takes the interrupts off irqFd, so that it polls again: how many there were since the last drain. */
  drainIrq(): number;
  /** Lets the next interrupt through, once the device's cause is acknowledged. */
  rearmIrq(): void;
  /** Turns interrupts off and closes every file, each step attempted; the arena is the caller's. Again is a no-op. */
  close(): void;
}
