/**
 * Guest-RAM helpers: a bump allocator over guest physical memory, and
 * builders for the device's context table and 3-level page tables as
 * docs/hardware.md section 7 describes them (able to write malformed
 * entries too).
 */
import type { QTest } from './qtest.js';
import { R } from './regs.js';

export const PAGE = R.PAGE_SIZE;

/** Where the allocator starts: above the legacy and BIOS areas. */
export const GUEST_RAM_START = 0x100_0000;
/** Where it ends: the top of the 512 MiB of guest RAM. */
export const GUEST_RAM_END = 0x2000_0000;

/** An address in the PCI hole with nothing mapped: DMA there fails on the bus. */
export const UNASSIGNED_BUS_ADDR = 0x80_0000_0000;

/** A bump allocator of guest physical memory. */
export class GuestMemory {
  private next: number;

  constructor(
    readonly qt: QTest,
    readonly start = GUEST_RAM_START,
    readonly end = GUEST_RAM_END,
  ) {
    this.next = start;
  }

  /** Allocates `size` bytes aligned to `align` (a power of two). Not zeroed. */
  alloc(size: number, align = PAGE): number {
    const base = Math.ceil(this.next / align) * align;
    if (base + size > this.end) throw new RangeError(`guest memory exhausted (${size} bytes wanted)`);
    this.next = base + Math.max(size, 1);
    return base;
  }

  /** Allocates and zeroes. */
  async allocZeroed(size: number, align = PAGE): Promise<number> {
    const a = this.alloc(size, align);
    await this.qt.memset(a, size, 0);
    return a;
  }

  /**
   * Allocates `n` pages that are not physically contiguous: every other page
   * of a block, in reverse order.
   */
  allocScatteredPages(n: number): number[] {
    const block = this.alloc(2 * n * PAGE, PAGE);
    const pages: number[] = [];
    for (let i = n - 1; i >= 0; i -= 1) pages.push(block + 2 * i * PAGE);
    return pages;
  }

  /** Allocates `n` physically contiguous pages. */
  allocContiguousPages(n: number): number[] {
    const block = this.alloc(n * PAGE, PAGE);
    return Array.from({ length: n }, (_, i) => block + i * PAGE);
  }

  /** Frees everything allocated. */
  reset(): void {
    this.next = this.start;
  }

  get used(): number {
    return this.next - this.start;
  }
}

/** Little-endian u64 array to bytes. */
export function u64s(values: readonly bigint[]): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt.asUintN(64, v), i * 8));
  return b;
}

export type PtLevel = 2 | 1 | 0;

/** The index of `va` in the table of `level` (section 7.2). */
export function ptIndex(va: bigint, level: PtLevel): number {
  return Number((va >> BigInt(R.PAGE_SHIFT + R.PT_INDEX_BITS * level)) & BigInt(R.PT_ENTRIES - 1));
}

export const PERM_R = BigInt(R.PTE_READ);
export const PERM_W = BigInt(R.PTE_WRITE);
export const PERM_RW = PERM_R | PERM_W;

/** A context's page tables: a level-2 root, level-1 and level-0 tables made on demand. */
export class PageTables {
  /**
   * Level-1 tables by level-2 index; level-0 tables by `l2:l1`. Promises, so
   * that concurrent mappings share the table they both need.
   */
  private readonly l1 = new Map<number, Promise<number>>();
  private readonly l0 = new Map<string, Promise<number>>();

  private constructor(
    private readonly qt: QTest,
    private readonly mem: GuestMemory,
    /** Bus address of the level-2 table. */
    readonly root: number,
  ) {}

  static async create(qt: QTest, mem: GuestMemory): Promise<PageTables> {
    return new PageTables(qt, mem, await mem.allocZeroed(PAGE));
  }

  /** Makes a zeroed table and links it from `entry`. */
  private async linkNewTable(entry: number): Promise<number> {
    const t = this.mem.alloc(PAGE);
    await this.qt.memset(t, PAGE, 0);
    await this.qt.writeq(entry, BigInt(t) | BigInt(R.PTE_VALID));
    return t;
  }

  /** The table at `level` that holds the entry for `va`, made (validly linked) if needed. */
  async tableFor(va: bigint, level: PtLevel): Promise<number> {
    if (level === 2) return this.root;
    const i2 = ptIndex(va, 2);
    let t1 = this.l1.get(i2);
    if (t1 === undefined) {
      t1 = this.linkNewTable(this.root + i2 * 8);
      this.l1.set(i2, t1);
    }
    if (level === 1) return t1;
    const i1 = ptIndex(va, 1);
    const key = `${i2}:${i1}`;
    let t0 = this.l0.get(key);
    if (t0 === undefined) {
      const parent = t1;
      t0 = parent.then((t) => this.linkNewTable(t + i1 * 8));
      this.l0.set(key, t0);
    }
    return t0;
  }

  /** The bus address of the entry for `va` at `level`. */
  async entryAddr(va: bigint, level: PtLevel): Promise<number> {
    return (await this.tableFor(va, level)) + ptIndex(va, level) * 8;
  }

  /** Maps the page at `va` to the physical page `pa` with `perms` (PERM_R / PERM_W). */
  async map(va: bigint, pa: number, perms: bigint): Promise<void> {
    if (pa % PAGE !== 0 || va % BigInt(PAGE) !== 0n) throw new RangeError('map: unaligned page');
    await this.qt.writeq(await this.entryAddr(va, 0), BigInt(pa) | perms | BigInt(R.PTE_VALID));
  }

  /**
   * Maps consecutive VA pages from `va` to the given physical pages (which
   * may repeat: aliases). Entries that share a level-0 table are written
   * with one memory write.
   */
  async mapPages(va: bigint, pages: readonly number[], perms: bigint): Promise<void> {
    if (va % BigInt(PAGE) !== 0n) throw new RangeError('mapPages: unaligned VA');
    const writes: Array<Promise<void>> = [];
    let run: { start: bigint; key: string; entries: bigint[] } | undefined;
    const flush = (r: { start: bigint; entries: bigint[] }): void => {
      writes.push(
        (async () => {
          await this.qt.write(await this.entryAddr(r.start, 0), u64s(r.entries));
        })(),
      );
    };
    for (const [i, pa] of pages.entries()) {
      if (pa % PAGE !== 0) throw new RangeError('mapPages: unaligned page');
      const pva = va + BigInt(i * PAGE);
      const key = (pva >> BigInt(R.PAGE_SHIFT + R.PT_INDEX_BITS)).toString();
      if (!run || run.key !== key) {
        if (run) flush(run);
        run = { start: pva, key, entries: [] };
      }
      run.entries.push(BigInt(pa) | perms | BigInt(R.PTE_VALID));
    }
    if (run) flush(run);
    await Promise.all(writes);
  }

  /** Bus addresses of every table made so far (the root first). */
  async tables(): Promise<number[]> {
    return [this.root, ...(await Promise.all([...this.l1.values(), ...this.l0.values()]))];
  }

  /** Clears the level-0 entry of `va`. */
  async unmap(va: bigint): Promise<void> {
    await this.qt.writeq(await this.entryAddr(va, 0), 0n);
  }

  /** Writes a raw (possibly malformed) entry for `va` at `level`. */
  async setRaw(va: bigint, level: PtLevel, raw: bigint): Promise<void> {
    await this.qt.writeq(await this.entryAddr(va, level), raw);
  }

  /** Reads the entry for `va` at `level`. */
  async getRaw(va: bigint, level: PtLevel): Promise<bigint> {
    return this.qt.readq(await this.entryAddr(va, level));
  }

  /** Rewrites the proper (valid, linked) entry for `va` at level 2 or 1. */
  async restoreLink(va: bigint, level: 2 | 1): Promise<void> {
    const next = await this.tableFor(va, level === 2 ? 1 : 0);
    await this.setRaw(va, level, BigInt(next) | BigInt(R.PTE_VALID));
  }
}

/** The context table: 64 entries of 16 bytes, 4 KiB aligned (section 7.1). */
export class ContextTable {
  private constructor(
    private readonly qt: QTest,
    readonly base: number,
  ) {}

  static async create(qt: QTest, mem: GuestMemory): Promise<ContextTable> {
    return new ContextTable(qt, await mem.allocZeroed(PAGE));
  }

  /** The table already at `base` (in a QEMU that took over another's RAM). */
  static at(qt: QTest, base: number): ContextTable {
    return new ContextTable(qt, base);
  }

  entryAddr(ctx: number): number {
    return this.base + ctx * R.CTX_ENTRY_SIZE;
  }

  /** Points context `ctx` at a level-2 table and marks it valid. */
  async setRoot(ctx: number, root: number): Promise<void> {
    await this.setRaw(ctx, BigInt(root) | BigInt(R.CTX_ROOT_VALID), 0n);
  }

  /** Writes a raw entry (ROOT word and the reserved word). */
  async setRaw(ctx: number, root: bigint, reserved = 0n): Promise<void> {
    await this.qt.write(this.entryAddr(ctx), u64s([root, reserved]));
  }

  async invalidate(ctx: number): Promise<void> {
    await this.setRaw(ctx, 0n, 0n);
  }
}
