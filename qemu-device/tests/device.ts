/**
 * A driver-like helper layer over qtest for the ossa device: enumerate and
 * map it, set the context table, build contexts with mappings, enable
 * queues, submit jobs and wait for them by polling Q_HEAD.
 */
import { cmd, type Descriptor, type JobResult, stream } from './commands.js';
import { Context } from './context.js';
import { ContextTable, GuestMemory, PAGE, PageTables } from './memory.js';
import { assignBars, findPciFunction, MsiX, PciFunction } from './pci.js';
import { QTest, type QemuOptions } from './qtest.js';
import { Queue, type WaitOptions } from './queue.js';
import { R } from './regs.js';

export { cmd, Context, Queue, stream };
export type { Descriptor, JobResult, WaitOptions };

export interface OssaOptions extends QemuOptions {
  /** Enable MSI-X with every vector pointed at the mailbox (default true). */
  msix?: boolean;
  /** The PCI bus the device is on (default 0; another one behind a bridge the caller set up). */
  pciBus?: number;
}

/** A QEMU instance with one ossa device, set up like a driver would. */
export class Ossa implements AsyncDisposable {
  pci!: PciFunction;
  bars = new Map<number, number>();
  bar0 = 0;
  msix!: MsiX;
  readonly mem: GuestMemory;
  ctxTable!: ContextTable;
  /** Bytes of guest RAM the MSI-X vectors write their data to. */
  mailbox = 0;
  private readonly contexts = new Map<number, Context>();
  private readonly queues = new Map<number, Queue>();

  private constructor(
    readonly qt: QTest,
    private readonly opts: OssaOptions,
  ) {
    this.mem = new GuestMemory(qt);
  }

  static async start(opts: OssaOptions = {}): Promise<Ossa> {
    return Ossa.attach(await QTest.start(opts), opts);
  }

  /** Sets up the device of a running QEMU like a driver would; closes QEMU on failure. */
  static async attach(qt: QTest, opts: OssaOptions = {}): Promise<Ossa> {
    const dev = new Ossa(qt, opts);
    try {
      await dev.setupPci();
      await dev.setupDevice();
    } catch (err) {
      await qt.close();
      throw err;
    }
    return dev;
  }

  /**
   * The same device in another QEMU that took over this one's state (a
   * migration destination): the same PCI function, BARs, MSI-X mailbox,
   * context table and guest-RAM allocations, taken as they are; nothing is
   * written to the device. Contexts and queues are not carried over.
   */
  static async adopt(qt: QTest, from: Ossa): Promise<Ossa> {
    const dev = new Ossa(qt, from.opts);
    dev.pci = new PciFunction(qt, from.pci.devfn, from.pci.bus);
    dev.bars = new Map(from.bars);
    dev.bar0 = from.bar0;
    // what the source allocated is in the migrated RAM: allocate past it
    dev.mem.alloc(from.mem.used, 1);
    dev.mailbox = from.mailbox;
    dev.msix = await MsiX.setup(dev.pci, dev.bars, dev.mailbox);
    dev.ctxTable = ContextTable.at(qt, from.ctxTable.base);
    return dev;
  }

  /** Enumerates, assigns the BARs, enables memory and bus mastering, sets up MSI-X. */
  async setupPci(): Promise<void> {
    this.pci = await findPciFunction(this.qt, R.PCI_VENDOR_ID, R.PCI_DEVICE_ID, this.opts.pciBus);
    this.bars = await assignBars(this.pci);
    const bar0 = this.bars.get(R.BAR_REGS);
    if (bar0 === undefined) throw new Error('BAR0 not assigned');
    this.bar0 = bar0;
    await this.pci.enableMemoryAndMaster();
    this.mem.reset();
    this.mailbox = this.mem.alloc(PAGE);
    this.msix = await MsiX.setup(this.pci, this.bars, this.mailbox);
    await this.msix.programAll();
    await this.msix.setFlags(this.opts.msix ?? true);
  }

  /** A fresh context table (all invalid), set in CTX_TABLE; forgets contexts and queues. */
  async setupDevice(): Promise<void> {
    this.contexts.clear();
    this.queues.clear();
    this.ctxTable = await ContextTable.create(this.qt, this.mem);
    await this.write(R.REG_CTX_TABLE_LO, this.ctxTable.base >>> 0);
    await this.write(R.REG_CTX_TABLE_HI, Math.floor(this.ctxTable.base / 2 ** 32));
  }

  /**
   * Back to a clean state between tests: soft reset, injected settings
   * cleared, guest memory reused, a new context table, mailbox cleared.
   */
  async fresh(): Promise<void> {
    await this.softReset();
    if ((await this.read(R.REG_CAPS)) & R.CAPS_FAULT_INJECTION) {
      await this.write(R.REG_INJECT_DELAY_US, 0);
      await this.write(R.REG_INJECT_FAULT_LO, 0);
      await this.write(R.REG_INJECT_FAULT_HI, 0);
    }
    this.mem.reset();
    this.mailbox = this.mem.alloc(PAGE);
    this.msix = await MsiX.setup(this.pci, this.bars, this.mailbox);
    await this.msix.programAll();
    await this.msix.setFlags(this.opts.msix ?? true);
    await this.setupDevice();
  }

  /** Redoes the PCI setup (after FLR or a machine reset) and the device setup. */
  async reinit(): Promise<void> {
    await this.setupPci();
    await this.setupDevice();
  }

  // --- registers -------------------------------------------------------------

  async read(off: number): Promise<number> {
    return this.qt.readl(this.bar0 + off);
  }

  async write(off: number, v: number): Promise<void> {
    await this.qt.writel(this.bar0 + off, v);
  }

  async readQ(q: number, off: number): Promise<number> {
    return this.read(R.REG_QUEUE(q) + off);
  }

  async writeQ(q: number, off: number, v: number): Promise<void> {
    await this.write(R.REG_QUEUE(q) + off, v);
  }

  /** Device time: TIME_LO, then the TIME_HI it latched. */
  async time(): Promise<bigint> {
    const lo = await this.read(R.REG_TIME_LO);
    const hi = await this.read(R.REG_TIME_HI);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  async softReset(): Promise<void> {
    await this.write(R.REG_RESET, R.RESET_MAGIC);
  }

  async faultAddr(): Promise<bigint> {
    const lo = await this.read(R.REG_FAULT_ADDR_LO);
    const hi = await this.read(R.REG_FAULT_ADDR_HI);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  async ctxStopped(): Promise<bigint> {
    const lo = await this.read(R.REG_CTX_STOPPED_LO);
    const hi = await this.read(R.REG_CTX_STOPPED_HI);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Advances the virtual clock to its next deadline, if there is one. */
  async stepClockIfPending(): Promise<boolean> {
    try {
      await this.qt.clockStep();
      return true;
    } catch {
      if (!this.qt.alive) throw new Error(`QEMU died:\n${this.qt.stderrText}`);
      return false;
    }
  }

  // --- contexts and queues -----------------------------------------------------

  /** Context `id` with fresh, empty page tables, valid in the context table. */
  async context(id: number): Promise<Context> {
    const pt = await PageTables.create(this.qt, this.mem);
    await this.ctxTable.setRoot(id, pt.root);
    const c = new Context(this, id, pt);
    this.contexts.set(id, c);
    return c;
  }

  /** Queue `q` with a ring of 2^log2 entries, enabled. */
  async queue(q: number, log2 = 4): Promise<Queue> {
    const ring = await this.mem.allocZeroed(R.DESC_SIZE * 2 ** log2, PAGE);
    const queue = new Queue(this, q, ring, log2);
    await queue.enable();
    this.queues.set(q, queue);
    return queue;
  }

  /** Runs one job of `commands` in `ctx` on queue `q` (made on first use). */
  async run(ctx: Context, commands: Buffer | Buffer[], extra: Partial<Descriptor> = {}, q = 0, wait: WaitOptions = {}): Promise<JobResult> {
    const queue = this.queues.get(q) ?? (await this.queue(q));
    return queue.run(await ctx.job(commands, extra), wait);
  }

  async close(): Promise<void> {
    await this.qt.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

