/** A device context as the helper layer sees it: page tables, a VA allocator, data access by VA. */
import { type Descriptor, stream } from './commands.js';
import type { Ossa } from './device.js';
import { PAGE, type PageTables, PERM_R, PERM_RW } from './memory.js';

/** Where contexts' allocations start in their VA space (any VA would do). */
const VA_START = 0x4000_0000n;

export interface AllocOptions {
  /** Physical pages not contiguous (default true). */
  scattered?: boolean;
  /** Map at this VA instead of the next free one. */
  va?: bigint;
}

/** One of the device's 64 contexts, with its page tables and a VA allocator. */
export class Context {
  private nextVa = VA_START;
  /** Physical page of each mapped VA page. */
  private readonly pages = new Map<bigint, number>();

  constructor(
    readonly dev: Ossa,
    readonly id: number,
    readonly pt: PageTables,
  ) {}

  /** Maps `size` bytes (whole pages) of fresh guest RAM with `perms`; returns the VA. */
  async alloc(size: number, perms: bigint = PERM_RW, opts: AllocOptions = {}): Promise<bigint> {
    const n = Math.max(1, Math.ceil(size / PAGE));
    const va = opts.va ?? this.nextVa;
    if (opts.va === undefined) this.nextVa += BigInt((n + 1) * PAGE); // one unmapped guard page
    const mem = this.dev.mem;
    const phys = opts.scattered === false ? mem.allocContiguousPages(n) : mem.allocScatteredPages(n);
    phys.forEach((pa, i) => this.pages.set(va + BigInt(i * PAGE), pa));
    await this.pt.mapPages(va, phys, perms);
    return va;
  }

  /**
   * Maps `size` bytes of VA with every page aliased to the same physical
   * page (a fresh zeroed one unless `pa` is given): large VA ranges cheaply.
   */
  async allocAliased(size: number, perms: bigint = PERM_RW, pa?: number): Promise<{ va: bigint; pa: number }> {
    const n = Math.max(1, Math.ceil(size / PAGE));
    const page = pa ?? (await this.dev.mem.allocZeroed(PAGE));
    const va = this.nextVa;
    this.nextVa += BigInt((n + 1) * PAGE);
    for (let i = 0; i < n; i += 1) this.pages.set(va + BigInt(i * PAGE), page);
    await this.pt.mapPages(va, new Array<number>(n).fill(page), perms);
    return { va, pa: page };
  }

  /** Reserves a VA range that is left unmapped. */
  reserve(size: number): bigint {
    const va = this.nextVa;
    this.nextVa += BigInt((Math.ceil(size / PAGE) + 1) * PAGE);
    return va;
  }

  /** Like alloc(), with the bytes zeroed: for marks and results a test compares against 0. */
  async allocZeroed(size: number, perms: bigint = PERM_RW): Promise<bigint> {
    const va = await this.alloc(size, perms);
    await this.write(va, Buffer.alloc(size));
    return va;
  }

  /**
   * Maps the page of any bus address (MMIO or config space too, not only
   * guest RAM) at a fresh VA, read-write; returns the VA of `addr`.
   */
  async mapBus(addr: number): Promise<bigint> {
    const va = this.reserve(PAGE);
    await this.pt.mapPages(va, [addr - (addr % PAGE)], PERM_RW);
    return va + BigInt(addr % PAGE);
  }

  /** The physical address behind a mapped VA (known to this helper). */
  phys(va: bigint): number {
    const page = va & ~BigInt(PAGE - 1);
    const pa = this.pages.get(page);
    if (pa === undefined) throw new RangeError(`VA 0x${va.toString(16)} not mapped by this helper`);
    return pa + Number(va - page);
  }

  private chunks(va: bigint, size: number): Array<{ pa: number; off: number; len: number }> {
    const out: Array<{ pa: number; off: number; len: number }> = [];
    let off = 0;
    while (off < size) {
      const cur = va + BigInt(off);
      const inPage = PAGE - Number(cur % BigInt(PAGE));
      const len = Math.min(inPage, size - off);
      out.push({ pa: this.phys(cur), off, len });
      off += len;
    }
    return out;
  }

  /** Writes bytes at a VA (through this helper's record of the mapping). */
  async write(va: bigint, data: Uint8Array): Promise<void> {
    await Promise.all(this.chunks(va, data.length).map((c) => this.dev.qt.write(c.pa, data.subarray(c.off, c.off + c.len))));
  }

  /** Reads bytes at a VA. */
  async read(va: bigint, size: number): Promise<Buffer> {
    const parts = await Promise.all(this.chunks(va, size).map((c) => this.dev.qt.read(c.pa, c.len)));
    return Buffer.concat(parts);
  }

  async readU64(va: bigint): Promise<bigint> {
    return (await this.read(va, 8)).readBigUInt64LE(0);
  }

  async readU32(va: bigint): Promise<number> {
    return (await this.read(va, 4)).readUInt32LE(0);
  }

  /** Places a command stream in a read-only mapping; returns its VA. */
  async putStream(commands: Uint8Array, perms: bigint = PERM_R): Promise<bigint> {
    const va = await this.alloc(commands.length, perms);
    await this.write(va, commands);
    return va;
  }

  /** A descriptor for a job running `commands` in this context. */
  async job(commands: Buffer | Buffer[], extra: Partial<Descriptor> = {}): Promise<Descriptor> {
    const s = Array.isArray(commands) ? stream(...commands) : commands;
    const cmdAddr = await this.putStream(s);
    return { context: this.id, cmdAddr, cmdSize: s.length, ...extra };
  }
}
