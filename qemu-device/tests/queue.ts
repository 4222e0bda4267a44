/** A device queue as the helper layer sees it: its ring, submission, waiting on Q_HEAD. */
import { decodeResult, type Descriptor, encodeDescriptor, type JobResult } from './commands.js';
import type { Ossa } from './device.js';
import { R } from './regs.js';

export interface WaitOptions {
  /** Polls of Q_HEAD before giving up (default 5000). */
  tries?: number;
  /** Advance the virtual clock to its next deadline between polls (for injected delays). */
  stepClock?: boolean;
}

/** A queue of the device with its ring in guest RAM. */
export class Queue {
  /** The producer index this helper wrote last. */
  tail = 0;

  constructor(
    readonly dev: Ossa,
    readonly q: number,
    readonly ring: number,
    readonly log2: number,
  ) {}

  get entries(): number {
    return 2 ** this.log2;
  }

  reg(off: number): number {
    return R.REG_QUEUE(this.q) + off;
  }

  slotAddr(index: number): number {
    return this.ring + R.DESC_SIZE * (index % this.entries);
  }

  async readReg(off: number): Promise<number> {
    return this.dev.read(this.reg(off));
  }

  async writeReg(off: number, v: number): Promise<void> {
    await this.dev.write(this.reg(off), v);
  }

  /** Disables the queue if needed, programs Q_BASE and Q_SIZE and enables it. */
  async enable(): Promise<void> {
    if ((await this.readReg(R.REG_Q_CONTROL)) & R.Q_CONTROL_ENABLE) await this.writeReg(R.REG_Q_CONTROL, 0);
    await this.writeReg(R.REG_Q_BASE_LO, this.ring >>> 0);
    await this.writeReg(R.REG_Q_BASE_HI, Math.floor(this.ring / 2 ** 32));
    await this.writeReg(R.REG_Q_SIZE, this.log2);
    await this.writeReg(R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
    this.tail = 0;
  }

  async disable(): Promise<void> {
    await this.writeReg(R.REG_Q_CONTROL, 0);
  }

  async head(): Promise<number> {
    return this.readReg(R.REG_Q_HEAD);
  }

  async status(): Promise<number> {
    return this.readReg(R.REG_Q_STATUS);
  }

  /** Writes a descriptor in the slot of `index`. */
  async writeDescriptor(index: number, d: Descriptor | Buffer): Promise<void> {
    await this.dev.qt.write(this.slotAddr(index), Buffer.isBuffer(d) ? d : encodeDescriptor(d));
  }

  /** Writes Q_TAIL (the doorbell). */
  async doorbell(tail: number): Promise<void> {
    this.tail = tail >>> 0;
    await this.writeReg(R.REG_Q_TAIL, this.tail);
  }

  /** Writes descriptors from the current tail on and rings; returns their indices. */
  async submit(...descs: Array<Descriptor | Buffer>): Promise<number[]> {
    const first = this.tail;
    await Promise.all(descs.map((d, i) => this.writeDescriptor(first + i, d)));
    await this.doorbell(first + descs.length);
    return descs.map((_, i) => (first + i) >>> 0);
  }

  /** Polls Q_HEAD until it reaches `target` (mod 2^32 ordering); throws after the tries. */
  async waitHead(target: number, opts: WaitOptions = {}): Promise<void> {
    const tries = opts.tries ?? 5000;
    let head = 0;
    for (let i = 0; i < tries; i += 1) {
      head = await this.head();
      if (((head - target) | 0) >= 0) return;
      if (opts.stepClock && i % 4 === 3) await this.dev.stepClockIfPending();
    }
    const st = await this.status();
    throw new Error(
      `queue ${this.q}: Q_HEAD stayed at ${head}, wanted ${target} (Q_STATUS 0x${st.toString(16)}, ${tries} polls)`,
    );
  }

  /** Polls Q_HEAD and fails if it moves past `value` within `polls` reads. */
  async expectHeadStays(value: number, polls = 200): Promise<void> {
    for (let i = 0; i < polls; i += 1) {
      const head = await this.head();
      if (head !== value) throw new Error(`queue ${this.q}: Q_HEAD moved to ${head}, expected it to stay at ${value}`);
    }
  }

  /** Reads the descriptor of `index` back. */
  async result(index: number): Promise<JobResult> {
    return decodeResult(await this.dev.qt.read(this.slotAddr(index), R.DESC_SIZE));
  }

  /** Submits one descriptor, waits for it and returns its result. */
  async run(d: Descriptor | Buffer, opts: WaitOptions = {}): Promise<JobResult> {
    const [index] = await this.submit(d);
    await this.waitHead((index ?? 0) + 1, opts);
    return this.result(index ?? 0);
  }
}
