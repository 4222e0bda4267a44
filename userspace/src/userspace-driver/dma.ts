/**
 * Memory a userspace driver hands its device: an arena of this process's
 * memory (an anonymous shmem file, memfd_create, mapped shared, its pages
 * faulted in) and the bus address of each of its bytes. Shmem can be
 * pinned for as long as the IOMMU maps it (a file on a disk could not:
 * type1 pins with FOLL_LONGTERM, which refuses pages that need writeback).
 *
 * - Behind an IOMMU (VFIO's type1), the container maps the arena at IOVAs the
 *   driver chooses, and the device reaches nothing else.
 * - Without one (UIO), the bus address of a byte is its physical
 *   address, read from /proc/self/pagemap (root only). Nothing pins the
 *   pages or keeps the device inside them: that is the point of the
 *   counter-example.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { wrapNativeError } from '../errors.js';
import { sysCall, userDriverError } from './error.js';
import { native } from '../native.js';
import type { IovaRange, VfioContainer } from './vfio.js';

export const PAGE = 4096;

/** Reads physical addresses from a process's pagemap (root only), one open file for many pages. */
class Pagemap implements Disposable {
  readonly #fd: number;
  readonly #entry = Buffer.alloc(8);

  constructor(readonly path: string) {
    this.#fd = sysCall(() => openSync(path, 'r'), 'open', path);
  }

  /** The physical address of `vaddr`: its page must be present. */
  physical(vaddr: bigint): bigint {
    if (readSync(this.#fd, this.#entry, 0, 8, Number(vaddr / BigInt(PAGE)) * 8) !== 8) {
      throw userDriverError(`${this.path}: no entry for 0x${vaddr.toString(16)}`, 'EIO', 'pread');
    }
    const e = this.#entry.readBigUInt64LE();
    if (!(e & (1n << 63n))) throw userDriverError(`${this.path}: page 0x${vaddr.toString(16)} is not present`, 'EFAULT', 'pagemap');
    const pfn = e & ((1n << 55n) - 1n);
    if (pfn === 0n) throw userDriverError(`${this.path}: page frame numbers read as 0: reading them needs CAP_SYS_ADMIN`, 'EPERM', 'pagemap');
    return pfn * BigInt(PAGE) + (vaddr % BigInt(PAGE));
  }

  [Symbol.dispose](): void {
    closeSync(this.#fd);
  }
}

/** The physical address of `vaddr` in process `pid` ('self' for this one), from its pagemap. */
export function physicalAddress(pid: number | 'self', vaddr: bigint): bigint {
  using map = new Pagemap(`/proc/${pid}/pagemap`);
  return map.physical(vaddr);
}

/** Memory the device reaches: its bytes here, and the bus address of each. */
export class DmaArena implements Disposable {
  readonly bytes: Uint8Array;
  /** This process's address of bytes[0]. */
  readonly vaddr: bigint;
  #mapping: ArrayBuffer | undefined;
  /** Behind an IOMMU: the IOVA of bytes[0], and the container that mapped it. */
  #iova = 0n;
  #container: VfioContainer | undefined;
  /** Without an IOMMU: the physical address of each page. */
  #pages: bigint[] = [];

  private constructor(mapping: ArrayBuffer) {
    this.#mapping = mapping;
    this.bytes = new Uint8Array(mapping);
    this.vaddr = native().address(this.bytes);
  }

  /** `size` bytes (a multiple of 4096) of shared memory, every page faulted in. */
  static allocate(size: number): DmaArena {
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE) throw new RangeError(`DMA arena of ${size} bytes: a positive multiple of ${PAGE}`);
    let fd: number;
    try {
      fd = native().memfd('ossa-dma-arena', size);
    } catch (err) {
      throw wrapNativeError(err, 'memfd_create');
    }
    try {
      let mapping: ArrayBuffer;
      try {
        mapping = native().mmap(fd, size, 0n, true);
      } catch (err) {
        throw wrapNativeError(err, 'mmap', 'DMA arena');
      }
      const arena = new DmaArena(mapping);
      // Fault every page in (and zero it): pagemap reports only present pages.
      for (let at = 0; at < size; at += PAGE) arena.bytes[at] = 0;
      return arena;
    } finally {
      // The mapping keeps the memory.
      native().close(fd);
    }
  }

  get size(): number {
    return this.bytes.length;
  }

  /**
   * Maps the arena through the container's IOMMU at the lowest IOVA of
   * `ranges` at or above `floor` where it fits whole and that does not hold
   * any address of `avoid`.
   */
  mapThrough(container: VfioContainer, floor: bigint, avoid: readonly bigint[] = []): void {
    const size = BigInt(this.size);
    const ranges: IovaRange[] = container.iovaRanges();
    for (const r of ranges) {
      let start = r.start > floor ? r.start : floor;
      start = (start + 0x1f_ffffn) & ~0x1f_ffffn; // 2 MiB aligned
      while (start + size - 1n <= r.end) {
        const clash = avoid.find((a) => a >= start && a < start + size);
        if (clash === undefined) {
          container.mapDma(this.vaddr, start, this.size, true);
          this.#iova = start;
          this.#container = container;
          return;
        }
        start = (clash + 0x20_0000n) & ~0x1f_ffffn;
      }
    }
    throw userDriverError(`no IOVA range holds ${this.size} bytes above 0x${floor.toString(16)}`, 'ENOSPC', 'VFIO_IOMMU_MAP_DMA');
  }

  /** Takes each page's physical address as its bus address (no IOMMU). */
  usePhysicalAddresses(): void {
    using map = new Pagemap('/proc/self/pagemap');
    this.#pages = [];
    for (let at = 0; at < this.size; at += PAGE) this.#pages.push(map.physical(this.vaddr + BigInt(at)));
  }

  /** The bus address of bytes[offset]. */
  bus(offset: number): bigint {
    if (offset < 0 || offset >= this.size) throw new RangeError(`offset ${offset} outside the ${this.size}-byte arena`);
    if (this.#container) return this.#iova + BigInt(offset);
    const page = this.#pages[Math.floor(offset / PAGE)];
    if (page === undefined) throw userDriverError('the arena has no bus addresses yet', 'EINVAL', 'bus');
    return page + BigInt(offset % PAGE);
  }

  /** Whether `address` is the bus address of a byte of the arena. */
  holdsBusAddress(address: bigint): boolean {
    if (this.#container) return address >= this.#iova && address < this.#iova + BigInt(this.size);
    const page = address & ~BigInt(PAGE - 1);
    return this.#pages.includes(page);
  }

  /** Takes the arena's IOVAs out of the IOMMU (before its container closes); again is a no-op. */
  unmapFromIommu(): void {
    const container = this.#container;
    if (!container) return;
    this.#container = undefined;
    container.unmapDma(this.#iova, this.size);
  }

  /** Unmaps the arena (from the IOMMU first, if it is mapped there); again is a no-op. */
  close(): void {
    if (!this.#mapping) return;
    try {
      this.unmapFromIommu();
    } finally {
      native().munmap(this.#mapping);
      this.#mapping = undefined;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
