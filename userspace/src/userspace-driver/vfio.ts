/**
 * VFIO's legacy container interface (Documentation/driver-api/vfio.rst):
 * a container holds an IOMMU context, a group (the smallest set of
 * devices the IOMMU can isolate) joins it, and the group hands out a file
 * for each of its devices: regions (BARs, config space) to read, write
 * and map, interrupts as eventfds, and a reset.
 *
 * With the type1 IOMMU the device reaches only what the container maps
 * (VFIO_IOMMU_MAP_DMA).
 */
import { constants, readSync, writeSync } from 'node:fs';
import { wrapNativeError } from '../errors.js';
import { userDriverError } from './error.js';
import { native } from '../native.js';
import { Struct } from '../struct.js';
import * as V from './vfio-uapi.js';

/** One range of IOVAs the container can map, [start, end] inclusive. */
export interface IovaRange {
  start: bigint;
  end: bigint;
}

function ioctl(fd: number, name: string, request: number, arg: Buffer | null, context: string): number {
  try {
    return native().ioctl(fd, request, arg);
  } catch (err) {
    throw wrapNativeError(err, name, context);
  }
}

function ioctlValue(fd: number, name: string, request: number, value: number, context: string): number {
  try {
    return native().ioctlValue(fd, request, value);
  } catch (err) {
    throw wrapNativeError(err, name, context);
  }
}

/** Closes an fd the binding opened (or one an ioctl returned): the binding forgets it too. */
function closeFd(fd: number): void {
  native().close(fd);
}

function openNode(path: string): number {
  try {
    return native().open(path, constants.O_RDWR);
  } catch (err) {
    throw wrapNativeError(err, 'open', path);
  }
}

/** A VFIO file this process owns (container, group or device): its fd until close(), which closes it once. */
abstract class VfioFile implements Disposable {
  #fd: number;

  protected constructor(
    fd: number,
    /** What the file is, for messages: 'the VFIO container', a group's path, ... */
    readonly what: string,
  ) {
    this.#fd = fd;
  }

  get fd(): number {
    if (this.#fd < 0) throw userDriverError(`${this.what} is closed`, 'EBADF', 'fd');
    return this.#fd;
  }

  close(): void {
    if (this.#fd < 0) return;
    closeFd(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A VFIO container (/dev/vfio/vfio) and its IOMMU. */
export class VfioContainer extends VfioFile {
  #iommuSet = false;

  private constructor(fd: number) {
    super(fd, 'the VFIO container');
  }

  /** Opens a container and checks that the kernel offers the type1 (v2) IOMMU. */
  static open(): VfioContainer {
    const fd = openNode('/dev/vfio/vfio');
    try {
      const api = ioctl(fd, 'VFIO_GET_API_VERSION', V.VFIO_GET_API_VERSION, null, '/dev/vfio/vfio');
      if (api !== V.VFIO_API_VERSION) {
        throw userDriverError(`/dev/vfio/vfio: VFIO API version ${api}, this driver knows ${V.VFIO_API_VERSION}`, 'EPROTO', 'VFIO_GET_API_VERSION');
      }
      if (!ioctlValue(fd, 'VFIO_CHECK_EXTENSION', V.VFIO_CHECK_EXTENSION, V.VFIO_TYPE1v2_IOMMU, '/dev/vfio/vfio')) {
        throw userDriverError('/dev/vfio/vfio: no type1 IOMMU (load vfio_iommu_type1; the machine needs an IOMMU)', 'EOPNOTSUPP', 'VFIO_CHECK_EXTENSION');
      }
      return new VfioContainer(fd);
    } catch (err) {
      closeFd(fd);
      throw err;
    }
  }

  /** Sets the IOMMU model, once a group has joined (VFIO_SET_IOMMU). */
  setIommu(): void {
    if (this.#iommuSet) return;
    ioctlValue(this.fd, 'VFIO_SET_IOMMU', V.VFIO_SET_IOMMU, V.VFIO_TYPE1v2_IOMMU, '/dev/vfio/vfio');
    this.#iommuSet = true;
  }

  /** The IOVA ranges the type1 IOMMU can map (its IOVA_RANGE capability). */
  iovaRanges(): IovaRange[] {
    const head = Struct.from(V.VfioIommuType1Info, { argsz: V.VfioIommuType1Info.size });
    ioctl(this.fd, 'VFIO_IOMMU_GET_INFO', V.VFIO_IOMMU_GET_INFO, head.bytes, '/dev/vfio/vfio');
    const need = head.num('argsz');
    const buf = Buffer.alloc(Math.max(need, V.VfioIommuType1Info.size));
    const info = new Struct(V.VfioIommuType1Info, buf).set('argsz', buf.length);
    ioctl(this.fd, 'VFIO_IOMMU_GET_INFO', V.VFIO_IOMMU_GET_INFO, buf, '/dev/vfio/vfio');
    const ranges: IovaRange[] = [];
    if (!(info.num('flags') & V.VFIO_IOMMU_INFO_CAPS)) return [{ start: 0n, end: (1n << 64n) - 1n }];
    // The capability chain: {u16 id, u16 version, u32 next} headers.
    for (let at = info.num('cap_offset'), hops = 0; at && hops < 64; hops++) {
      const id = buf.readUInt16LE(at);
      const next = buf.readUInt32LE(at + 4);
      if (id === V.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
        const n = buf.readUInt32LE(at + 8);
        for (let i = 0; i < n; i++) {
          ranges.push({ start: buf.readBigUInt64LE(at + 16 + 16 * i), end: buf.readBigUInt64LE(at + 24 + 16 * i) });
        }
      }
      at = next;
    }
    return ranges.length ? ranges : [{ start: 0n, end: (1n << 64n) - 1n }];
  }

  /** Maps `size` bytes of this process at `vaddr` for the device at `iova` (VFIO_IOMMU_MAP_DMA). */
  mapDma(vaddr: bigint, iova: bigint, size: number, writable: boolean): void {
    const map = Struct.from(V.VfioIommuType1DmaMap, {
      argsz: V.VfioIommuType1DmaMap.size,
      flags: V.VFIO_DMA_MAP_FLAG_READ | (writable ? V.VFIO_DMA_MAP_FLAG_WRITE : 0),
      vaddr,
      iova,
      size,
    });
    ioctl(this.fd, 'VFIO_IOMMU_MAP_DMA', V.VFIO_IOMMU_MAP_DMA, map.bytes, `iova 0x${iova.toString(16)}, ${size} bytes`);
  }

  /** Unmaps what mapDma() mapped at `iova` (VFIO_IOMMU_UNMAP_DMA). */
  unmapDma(iova: bigint, size: number): void {
    const unmap = Struct.from(V.VfioIommuType1DmaUnmap, { argsz: V.VfioIommuType1DmaUnmap.size, iova, size });
    ioctl(this.fd, 'VFIO_IOMMU_UNMAP_DMA', V.VFIO_IOMMU_UNMAP_DMA, unmap.bytes, `iova 0x${iova.toString(16)}`);
  }
}

/** A VFIO group (/dev/vfio/N), joined to a container. */
export class VfioGroup extends VfioFile {
  private constructor(
    fd: number,
    readonly path: string,
  ) {
    super(fd, path);
  }

  /** Opens the group and checks that it is viable (every device of it bound to VFIO or to nothing). */
  static open(path: string): VfioGroup {
    const fd = openNode(path);
    try {
      const status = Struct.from(V.VfioGroupStatus, { argsz: V.VfioGroupStatus.size });
      ioctl(fd, 'VFIO_GROUP_GET_STATUS', V.VFIO_GROUP_GET_STATUS, status.bytes, path);
      if (!(status.num('flags') & V.VFIO_GROUP_FLAGS_VIABLE)) {
        throw userDriverError(`${path}: the group is not viable: a device of it is bound to a host driver`, 'EBUSY', 'VFIO_GROUP_GET_STATUS');
      }
      return new VfioGroup(fd, path);
    } catch (err) {
      closeFd(fd);
      throw err;
    }
  }

  /** Joins the container (VFIO_GROUP_SET_CONTAINER) and sets its IOMMU. */
  join(container: VfioContainer): void {
    const arg = Buffer.alloc(4);
    arg.writeInt32LE(container.fd);
    ioctl(this.fd, 'VFIO_GROUP_SET_CONTAINER', V.VFIO_GROUP_SET_CONTAINER, arg, this.path);
    container.setIommu();
  }

  /** The file of a device of the group, by its PCI address (VFIO_GROUP_GET_DEVICE_FD). */
  device(bdf: string): VfioDevice {
    const fd = ioctl(this.fd, 'VFIO_GROUP_GET_DEVICE_FD', V.VFIO_GROUP_GET_DEVICE_FD, Buffer.from(`${bdf}\0`), this.path);
    return new VfioDevice(fd, bdf);
  }
}

/** A region of a device file: where it sits in the file, and what it allows. */
export interface VfioRegion {
  index: number;
  size: number;
  offset: number;
  flags: number;
}

/** A device's VFIO file: its regions, interrupts and reset. */
export class VfioDevice extends VfioFile {
  constructor(
    fd: number,
    readonly bdf: string,
  ) {
    super(fd, `the VFIO device ${bdf}`);
  }

  /** VFIO_DEVICE_GET_INFO: flags, number of regions and of interrupt indexes. */
  info(): { flags: number; regions: number; irqs: number } {
    const s = Struct.from(V.VfioDeviceInfo, { argsz: V.VfioDeviceInfo.size });
    ioctl(this.fd, 'VFIO_DEVICE_GET_INFO', V.VFIO_DEVICE_GET_INFO, s.bytes, this.bdf);
    return { flags: s.num('flags'), regions: s.num('num_regions'), irqs: s.num('num_irqs') };
  }

  region(index: number): VfioRegion {
    const s = Struct.from(V.VfioRegionInfo, { argsz: V.VfioRegionInfo.size, index });
    ioctl(this.fd, 'VFIO_DEVICE_GET_REGION_INFO', V.VFIO_DEVICE_GET_REGION_INFO, s.bytes, `${this.bdf} region ${index}`);
    return { index, size: s.num('size'), offset: s.num('offset'), flags: s.num('flags') };
  }

  /** How many vectors an interrupt index offers (VFIO_DEVICE_GET_IRQ_INFO). */
  irqCount(index: number): number {
    const s = Struct.from(V.VfioIrqInfo, { argsz: V.VfioIrqInfo.size, index });
    ioctl(this.fd, 'VFIO_DEVICE_GET_IRQ_INFO', V.VFIO_DEVICE_GET_IRQ_INFO, s.bytes, `${this.bdf} irq index ${index}`);
    return s.num('count');
  }

  /** Maps a region that allows it (the BARs) into this process. */
  mapRegion(r: VfioRegion): ArrayBuffer {
    if (!(r.flags & V.VFIO_REGION_INFO_FLAG_MMAP)) {
      throw userDriverError(`${this.bdf}: region ${r.index} cannot be mapped`, 'EINVAL', 'mmap');
    }
    try {
      return native().mmap(this.fd, r.size, BigInt(r.offset), true);
    } catch (err) {
      throw wrapNativeError(err, 'mmap', `${this.bdf} region ${r.index}`);
    }
  }

  /** Reads `length` bytes of a region (config space) at `at`. */
  read(r: VfioRegion, at: number, length: 1 | 2 | 4): number {
    const b = Buffer.alloc(length);
    if (readSync(this.fd, b, 0, length, r.offset + at) !== length) {
      throw userDriverError(`${this.bdf}: short read of region ${r.index} at 0x${at.toString(16)}`, 'EIO', 'pread');
    }
    return length === 1 ? b.readUInt8() : length === 2 ? b.readUInt16LE() : b.readUInt32LE();
  }

  /** Writes `length` bytes of a region (config space) at `at`. */
  write(r: VfioRegion, at: number, length: 1 | 2 | 4, value: number): void {
    const b = Buffer.alloc(length);
    if (length === 1) b.writeUInt8(value);
    else if (length === 2) b.writeUInt16LE(value);
    else b.writeUInt32LE(value);
    if (writeSync(this.fd, b, 0, length, r.offset + at) !== length) {
      throw userDriverError(`${this.bdf}: short write of region ${r.index} at 0x${at.toString(16)}`, 'EIO', 'pwrite');
    }
  }

  /** Signals vector i of an interrupt index on eventfds[i] (VFIO_DEVICE_SET_IRQS, trigger). */
  setIrqEventfds(index: number, eventfds: readonly number[]): void {
    const buf = Buffer.alloc(V.VfioIrqSet.size + 4 * eventfds.length);
    Struct.from(V.VfioIrqSet, {}).bytes.copy(buf);
    const s = new Struct(V.VfioIrqSet, buf);
    s.set('argsz', buf.length)
      .set('flags', V.VFIO_IRQ_SET_DATA_EVENTFD | V.VFIO_IRQ_SET_ACTION_TRIGGER)
      .set('index', index)
      .set('start', 0)
      .set('count', eventfds.length);
    eventfds.forEach((fd, i) => buf.writeInt32LE(fd, V.VfioIrqSet.size + 4 * i));
    ioctl(this.fd, 'VFIO_DEVICE_SET_IRQS', V.VFIO_DEVICE_SET_IRQS, buf, `${this.bdf} irq index ${index}`);
  }

  /** Turns an interrupt index off (count 0, DATA_NONE). */
  disableIrqs(index: number): void {
    const s = Struct.from(V.VfioIrqSet, {
      argsz: V.VfioIrqSet.size,
      flags: V.VFIO_IRQ_SET_DATA_NONE | V.VFIO_IRQ_SET_ACTION_TRIGGER,
      index,
    });
    ioctl(this.fd, 'VFIO_DEVICE_SET_IRQS', V.VFIO_DEVICE_SET_IRQS, s.bytes, `${this.bdf} irq index ${index}`);
  }

  /** A function-level reset (VFIO_DEVICE_RESET). */
  reset(): void {
    ioctl(this.fd, 'VFIO_DEVICE_RESET', V.VFIO_DEVICE_RESET, null, this.bdf);
  }
}
