/**
 * A userspace driver for the ossa device: the process, not the kernel,
 * programs the device (docs/hardware.md), over VFIO or UIO
 * (device-access.ts). It places its ring, its context table, its page
 * tables and its buffers in one DMA arena, and runs jobs on queue 0 in
 * context 0, one at a time.
 *
 * The arena's layout (4 KiB pages):
 *
 *   page 0        context table (entry 0 used)
 *   page 1        queue 0's ring: 64 descriptors
 *   page 2        level-2 table; page 3: level-1 table
 *   pages 4..     level-0 tables, one per 2 MiB of device VA
 *   then          64 command slots of 4 KiB (one per ring slot), device read-only
 *   then          buffers, device read-write
 *
 * Device VAs: the byte at arena offset `o` is at VA_BASE + o, for the
 * command slots and buffers; the tables are not mapped. The same driver
 * runs behind an IOMMU (bus addresses are IOVAs the container maps) and
 * without one (bus addresses are physical), which is the difference that
 * docs/userspace-drivers.md is about.
 */
import { CommandStream } from '../commands.js';
import { waitFd } from '../fd-wait.js';
import type { DeviceAccess } from './device-access.js';
import { DmaArena, PAGE } from './dma.js';
import { userDriverError } from './error.js';
import * as H from './hw.js';
import { openUio } from './uio-access.js';
import { openVfio } from './vfio-access.js';

/** Device VA of arena offset 0 (level-2 index 1). */
export const VA_BASE = 0x4000_0000n;
const RING_ORDER = 6;
const RING_ENTRIES = 1 << RING_ORDER;
const SLOT_SIZE = PAGE;
const TABLE_PAGES = 4;
const TWO_MIB = 2 << 20;
/** One level-1 table: 512 level-0 tables, 1 GiB of device VA, less the driver's own pages and a spare table. */
const MAX_BUFFER_BYTES = (510 * TWO_MIB) - (TABLE_PAGES + 512 + RING_ENTRIES) * PAGE;

/**
 * The level-0 tables that map the arena from VA_BASE (its tables, slots
 * and buffers, though only slots and buffers are mapped), and one more:
 * the formula leaves the level-0 tables' own pages out, and whatever room
 * is left after the arena is where mapPage() puts a page of anywhere.
 */
function level0Tables(bufferBytes: number): number {
  return Math.ceil(((TABLE_PAGES + RING_ENTRIES) * PAGE + bufferBytes) / TWO_MIB) + 1;
}

export interface UserDriverOptions {
  /** The function's PCI address, bound to vfio-pci ('vfio') or uio_pci_generic ('uio'). */
  bdf: string;
  /** How the process reaches the device. */
  via: DeviceAccess['via'];
  /** Bytes of buffers (a multiple of 4 KiB); default 8 MiB. */
  bufferBytes?: number;
  /** Bus addresses the arena's IOVAs must not cover (VFIO). */
  avoidBusAddresses?: readonly bigint[];
}

/** A job's end, as the device wrote it back (5.3), and its fault (7.5). */
export interface UserJobResult {
  status: number;
  statusName: string;
  errorOffset: number;
  startNs: bigint;
  endNs: bigint;
  fault?: UserFault;
  /** Interrupts taken while waiting for this job (one, unless a fault's own came too). */
  interrupts: number;
  /** Whether the job was still running when the driver first looked after the doorbell. */
  runningAtDoorbell: boolean;
}

/** An MMU fault, as FAULT_ADDR and FAULT_INFO recorded it (7.5). */
export interface UserFault {
  va: bigint;
  cause: string;
  write: boolean;
}

/** A buffer of the arena: its bytes here and its device VA. */
export interface UserBuffer {
  bytes: Uint8Array;
  va: bigint;
}

export class OssaUserDriver implements Disposable {
  readonly #access: DeviceAccess;
  readonly #regs: Uint32Array;
  readonly #arena: DmaArena;
  readonly #view: DataView;
  readonly #l0Tables: number;
  readonly #cmdAt: number;
  readonly #buffersAt: number;
  #nextBuffer: number;
  #tail = 0;
  #interrupts = 0;
  /** Whether an interrupt of the last job may still arrive (it faulted). */
  #staleInterrupts = false;
  /** Why the device stopped (a queue error), once it has. */
  #failed: string | undefined;
  #busy = false;
  #closed = false;

  private constructor(access: DeviceAccess, arena: DmaArena, l0Tables: number) {
    this.#access = access;
    this.#regs = access.regs;
    this.#arena = arena;
    this.#view = new DataView(arena.bytes.buffer, arena.bytes.byteOffset, arena.bytes.byteLength);
    this.#l0Tables = l0Tables;
    this.#cmdAt = (TABLE_PAGES + l0Tables) * PAGE;
    this.#buffersAt = this.#cmdAt + RING_ENTRIES * SLOT_SIZE;
    this.#nextBuffer = this.#buffersAt;
  }

  /** Opens the function and brings the device up with one context and one queue. */
  static open(options: UserDriverOptions): OssaUserDriver {
    const { bdf, via } = options;
    const bufferBytes = options.bufferBytes ?? 8 << 20;
    if (!Number.isSafeInteger(bufferBytes) || bufferBytes <= 0 || bufferBytes % PAGE || bufferBytes > MAX_BUFFER_BYTES) {
      throw new RangeError(`bufferBytes ${bufferBytes}: a positive multiple of ${PAGE}, at most ${MAX_BUFFER_BYTES}`);
    }
    const access = via === 'uio' ? openUio(bdf) : openVfio(bdf);
    let arena: DmaArena | undefined;
    try {
      const regs = access.regs;
      const id = regs[H.OSSA_REG_ID >> 2] as number;
      const version = regs[H.OSSA_REG_VERSION >> 2] as number;
      if (id !== H.OSSA_ID_MAGIC || version >>> H.OSSA_VERSION_MAJOR_SHIFT !== H.OSSA_VERSION_MAJOR) {
        throw userDriverError(`${bdf}: not an ossa device of interface ${H.OSSA_VERSION_MAJOR}.x (ID 0x${id.toString(16)}, VERSION 0x${version.toString(16)})`, 'ENODEV', 'open');
      }
      const dmaBits = ((regs[H.OSSA_REG_CAPS >> 2] as number) & H.OSSA_CAPS_DMA_BITS_MASK) >>> H.OSSA_CAPS_DMA_BITS_SHIFT || 64;
      const reach = 1n << BigInt(Math.min(dmaBits, H.OSSA_PTE_ADDR_BITS));
      const l0Tables = level0Tables(bufferBytes);
      arena = DmaArena.allocate((TABLE_PAGES + l0Tables + RING_ENTRIES) * PAGE + bufferBytes);
      access.attach(arena, options.avoidBusAddresses ?? [], reach);
      for (let at = 0; at < arena.size; at += PAGE) {
        if (arena.bus(at) + BigInt(PAGE) > reach) {
          throw userDriverError(`${bdf}: the arena's page at bus 0x${arena.bus(at).toString(16)} is beyond the device's ${dmaBits} bits`, 'ERANGE', 'open');
        }
      }
      const dev = new OssaUserDriver(access, arena, l0Tables);
      dev.#setUp();
      return dev;
    } catch (err) {
      // Each attempted; the set-up's error is the one to report.
      for (const undo of [() => access.close(), () => arena?.close()]) {
        try {
          undo();
        } catch {
          // Reported instead: err.
        }
      }
      throw err;
    }
  }

  /** How the process reaches the device, and whether an IOMMU confines it. */
  get via(): DeviceAccess['via'] {
    return this.#access.via;
  }

  get isolated(): boolean {
    return this.#access.isolated;
  }

  /** Interrupts taken while waiting for jobs, in all. */
  get interrupts(): number {
    return this.#interrupts;
  }

  #reg(offset: number): number {
    return this.#regs[offset >> 2] as number;
  }

  #setReg(offset: number, value: number): void {
    this.#regs[offset >> 2] = value;
  }

  #pte(tableOffset: number, index: number, value: bigint): void {
    this.#view.setBigUint64(tableOffset + 8 * index, value, true);
  }

  #setUp(): void {
    const a = this.#arena;
    this.#setReg(H.OSSA_REG_RESET, H.OSSA_RESET_MAGIC);
    // Context 0: level 2 -> level 1 (VA 1 GiB..2 GiB) -> level-0 tables.
    this.#view.setBigUint64(0, a.bus(2 * PAGE) | BigInt(H.OSSA_CTX_ROOT_VALID), true);
    this.#pte(2 * PAGE, Number(VA_BASE >> 30n), a.bus(3 * PAGE) | BigInt(H.OSSA_PTE_VALID));
    for (let i = 0; i < this.#l0Tables; i++) this.#pte(3 * PAGE, i, a.bus((TABLE_PAGES + i) * PAGE) | BigInt(H.OSSA_PTE_VALID));
    for (let at = this.#cmdAt; at < a.size; at += PAGE) {
      const writable = at >= this.#buffersAt;
      this.mapPage(VA_BASE + BigInt(at), a.bus(at), writable);
    }
    this.#setReg(H.OSSA_REG_CTX_TABLE_LO, Number(a.bus(0) & 0xffff_ffffn));
    this.#setReg(H.OSSA_REG_CTX_TABLE_HI, Number(a.bus(0) >> 32n));
    const q = H.OSSA_REG_QUEUE(0);
    this.#setReg(q + H.OSSA_REG_Q_BASE_LO, Number(a.bus(PAGE) & 0xffff_ffffn));
    this.#setReg(q + H.OSSA_REG_Q_BASE_HI, Number(a.bus(PAGE) >> 32n));
    this.#setReg(q + H.OSSA_REG_Q_SIZE, RING_ORDER);
    this.#setReg(q + H.OSSA_REG_Q_CONTROL, H.OSSA_Q_CONTROL_ENABLE);
    this.#setReg(H.OSSA_REG_IRQ_MASK, H.OSSA_IRQ_QUEUE_JOB(0) | H.OSSA_IRQ_QUEUE_ERROR(0) | H.OSSA_IRQ_MMU_FAULT);
    this.#tail = 0;
  }

  /** The bus address of every byte the driver gave the device (its arena). */
  holdsBusAddress(address: bigint): boolean {
    return this.#arena.holdsBusAddress(address);
  }

  /** The first VA past the arena's mappings, still under the driver's level-0 tables: where mapPage() can put any page. */
  get spareVa(): bigint {
    return VA_BASE + BigInt(this.#arena.size);
  }

  /**
   * Points the device page at `va` to the bus address `bus` (readable,
   * and writable if asked). A process that drives the device itself can
   * write any bus address here: only an IOMMU keeps the device inside what
   * the process was given.
   */
  mapPage(va: bigint, bus: bigint, writable: boolean): void {
    const index = Number((va - VA_BASE) / BigInt(PAGE));
    if (va < VA_BASE || va % BigInt(PAGE) || index >= this.#l0Tables * 512) throw new RangeError(`VA 0x${va.toString(16)} outside the driver's level-0 tables`);
    if (bus < 0n || bus >= 1n << BigInt(H.OSSA_PTE_ADDR_BITS)) throw new RangeError(`bus address 0x${bus.toString(16)}: a page-table entry holds ${H.OSSA_PTE_ADDR_BITS} bits`);
    const flags = BigInt(H.OSSA_PTE_VALID | H.OSSA_PTE_READ | (writable ? H.OSSA_PTE_WRITE : 0));
    this.#pte((TABLE_PAGES + Math.floor(index / 512)) * PAGE, index % 512, (bus & ~0xfffn) | flags);
  }

  /** `size` bytes of device-writable memory (page-aligned), zeroed. */
  buffer(size: number): UserBuffer {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`buffer of ${size} bytes: a positive integer`);
    const bytes = Math.ceil(size / PAGE) * PAGE;
    if (this.#nextBuffer + bytes > this.#arena.size) throw userDriverError(`no room for ${size} more bytes (bufferBytes)`, 'ENOMEM', 'buffer');
    const at = this.#nextBuffer;
    this.#nextBuffer += bytes;
    const view = this.#arena.bytes.subarray(at, at + size);
    view.fill(0);
    return { bytes: view, va: VA_BASE + BigInt(at) };
  }

  /** Runs one job and waits for its end (at most `timeoutMs`). */
  async run(commands: CommandStream | Uint8Array, timeoutMs = 10_000): Promise<UserJobResult> {
    if (this.#closed) throw userDriverError('the device is closed', 'EBADF', 'run');
    if (this.#failed) throw userDriverError(`the device is stopped: ${this.#failed}; close it and open it again`, 'EIO', 'run');
    if (this.#busy) throw userDriverError('a job is running: this driver runs one at a time', 'EBUSY', 'run');
    const stream = commands instanceof CommandStream ? commands.toBuffer() : commands;
    if (stream.length < 8 || stream.length > SLOT_SIZE || stream.length % 8) {
      throw userDriverError(`a command stream of ${stream.length} bytes: 8 to ${SLOT_SIZE}, a multiple of 8`, 'EINVAL', 'run');
    }
    this.#busy = true;
    try {
      const slot = this.#tail % RING_ENTRIES;
      const cmdAt = this.#cmdAt + slot * SLOT_SIZE;
      this.#arena.bytes.set(stream, cmdAt);
      const d = PAGE + slot * H.OSSA_DESC_SIZE;
      this.#arena.bytes.fill(0, d, d + H.OSSA_DESC_SIZE);
      this.#view.setUint32(d + H.OSSA_DESC_FLAGS, H.OSSA_DESC_FLAG_IRQ, true);
      this.#view.setUint32(d + H.OSSA_DESC_CONTEXT, 0, true);
      this.#view.setBigUint64(d + H.OSSA_DESC_CMD_ADDR, VA_BASE + BigInt(cmdAt), true);
      this.#view.setUint32(d + H.OSSA_DESC_CMD_SIZE, stream.length, true);
      this.#view.setBigUint64(d + H.OSSA_DESC_USER_DATA, BigInt(this.#tail), true);
      this.#tail = (this.#tail + 1) >>> 0;
      const q = H.OSSA_REG_QUEUE(0);
      // A job that faulted raised two causes (MMU_FAULT at the fault, then
      // QUEUE_JOB after Q_HEAD moved): the second can come after its wait
      // ended. One job at a time, so whatever is pending now is stale:
      // cleared, so that this job's interrupt is its own. (Only then: a
      // drain that finds nothing costs a NOP job about 200 us under TCG.)
      if (this.#staleInterrupts) {
        this.#access.drainIrq();
        this.#setReg(H.OSSA_REG_IRQ_STATUS, this.#reg(H.OSSA_REG_IRQ_STATUS));
        this.#access.rearmIrq();
        this.#staleInterrupts = false;
      }
      this.#setReg(q + H.OSSA_REG_Q_TAIL, this.#tail);
      const runningAtDoorbell = this.#reg(q + H.OSSA_REG_Q_HEAD) !== this.#tail;
      // The job asks for an interrupt (FLAGS.IRQ): its end is known from
      // one, never by polling. A job that ends without one is a lost
      // interrupt, and an error.
      let interrupts = 0;
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const left = deadline - performance.now();
        const interrupted = left > 0 && (await waitFd(this.#access.irqFd, 'readable', left, []));
        if (!interrupted) {
          const head = this.#reg(q + H.OSSA_REG_Q_HEAD);
          this.#throwIfQueueStopped();
          throw userDriverError(`no interrupt within ${timeoutMs} ms (Q_HEAD ${head}, Q_TAIL ${this.#tail})`, 'ETIMEDOUT', 'run');
        }
        interrupts += this.#access.drainIrq();
        // Acknowledge, then look (section 8): an event after the read is not lost.
        this.#setReg(H.OSSA_REG_IRQ_STATUS, this.#reg(H.OSSA_REG_IRQ_STATUS));
        this.#access.rearmIrq();
        this.#throwIfQueueStopped();
        if (this.#reg(q + H.OSSA_REG_Q_HEAD) === this.#tail) break;
      }
      const status = this.#view.getUint32(d + H.OSSA_DESC_STATUS, true);
      const result: UserJobResult = {
        status,
        statusName: H.JOB_STATUS_NAMES[status] ?? `status ${status}`,
        errorOffset: this.#view.getUint32(d + H.OSSA_DESC_ERROR_OFFSET, true),
        startNs: this.#view.getBigUint64(d + H.OSSA_DESC_START_NS, true),
        endNs: this.#view.getBigUint64(d + H.OSSA_DESC_END_NS, true),
        interrupts,
        runningAtDoorbell,
      };
      this.#interrupts += interrupts;
      if (status === H.OSSA_JOB_MMU_FAULT) {
        result.fault = this.#takeFault();
        this.#staleInterrupts = true;
      }
      return result;
    } finally {
      this.#busy = false;
    }
  }

  /** A queue error stops the queue, and this driver does not restart it: every later run() says so at once. */
  #throwIfQueueStopped(): void {
    const status = this.#reg(H.OSSA_REG_QUEUE(0) + H.OSSA_REG_Q_STATUS);
    if (status & H.OSSA_Q_STATUS_ERROR) {
      this.#failed = `queue 0 stopped with error ${(status >>> H.OSSA_Q_STATUS_CODE_SHIFT) & 0xff}`;
      throw userDriverError(this.#failed, 'EIO', 'run');
    }
  }

  /** Reads and clears the recorded fault, and restarts context 0 (7.5). */
  #takeFault(): UserFault | undefined {
    const info = this.#reg(H.OSSA_REG_FAULT_INFO);
    const va = (BigInt(this.#reg(H.OSSA_REG_FAULT_ADDR_HI)) << 32n) | BigInt(this.#reg(H.OSSA_REG_FAULT_ADDR_LO));
    this.#setReg(H.OSSA_REG_FAULT_INFO, H.OSSA_FAULT_INFO_VALID);
    this.#setReg(H.OSSA_REG_CTX_STOPPED_LO, 1);
    if (!(info & H.OSSA_FAULT_INFO_VALID)) return undefined;
    const cause = (info & H.OSSA_FAULT_INFO_CAUSE_MASK) >>> H.OSSA_FAULT_INFO_CAUSE_SHIFT;
    return { va, cause: H.FAULT_CAUSE_NAMES[cause] ?? `cause ${cause}`, write: (info & H.OSSA_FAULT_INFO_WRITE) !== 0 };
  }

  /** Stops the device, hands its memory back and closes the files; again is a no-op. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const steps: Array<() => void> = [
      () => this.#setReg(H.OSSA_REG_QUEUE(0) + H.OSSA_REG_Q_CONTROL, 0),
      () => this.#setReg(H.OSSA_REG_IRQ_MASK, 0),
      () => this.#setReg(H.OSSA_REG_RESET, H.OSSA_RESET_MAGIC),
      () => this.#access.close(),
      () => this.#arena.close(),
    ];
    let first: unknown;
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
