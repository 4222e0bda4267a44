/**
 * Building blocks of the seeded random robustness test: an arena of
 * contexts, rings and streams in guest RAM, generators of random (often
 * malformed) register writes, descriptors, command streams, table entries,
 * config-space and MSI-X table writes, FLRs and QOM settings of the
 * injection knobs, and invariant checks of register reads.
 */
import { expect } from 'vitest';
import { cmd, encodeDescriptor, rawCommand } from './commands.js';
import type { Context, Ossa, Queue } from './device.js';
import { listedOffsets } from './layout.js';
import { PAGE, PERM_R, PERM_RW, PERM_W, UNASSIGNED_BUS_ADDR } from './memory.js';
import {
  mmconfigAddress,
  PCI_BASE_ADDRESS_0,
  PCI_CAP_ID_EXP,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  msixData,
} from './pci.js';
import type { Prng } from '../../userspace/src/prng.js';
import { DEVICE_QOM_PATH } from './qtest.js';
import { R } from './regs.js';

export interface Region {
  ctx: Context;
  va: bigint;
  size: number;
}

export interface Arena {
  ctxs: Context[];
  data: Region[];
  streams: Region[];
  queues: Queue[];
  tables: number[];
  dataPages: number[];
  /** Offset of the PCI Express capability in config space (FLR). */
  expCap: number;
}

/** Offsets of config space a random write leaves alone: the BARs and the expansion ROM, which place the registers. */
const CONFIG_BARS = { from: PCI_BASE_ADDRESS_0, to: 0x34 };

const DATA_PAGES = 6;
const STREAM_PAGES = 2;

/** Contexts with RW, R-only and W-only data and stream pages; both queues enabled. */
export async function buildArena(d: Ossa, rng: Prng): Promise<Arena> {
  const ids = new Set<number>();
  while (ids.size < 4) ids.add(rng.below(R.NUM_CONTEXTS));
  const arena: Arena = { ctxs: [], data: [], streams: [], queues: [], tables: [], dataPages: [], expCap: await d.pci.findCapability(PCI_CAP_ID_EXP) };
  for (const id of ids) {
    const ctx = await d.context(id);
    arena.ctxs.push(ctx);
    for (const perms of [PERM_RW, PERM_R, PERM_W]) {
      const va = await ctx.alloc(DATA_PAGES * PAGE, perms);
      arena.data.push({ ctx, va, size: DATA_PAGES * PAGE });
      for (let i = 0; i < DATA_PAGES; i += 1) arena.dataPages.push(ctx.phys(va + BigInt(i * PAGE)));
    }
    const sva = await ctx.alloc(STREAM_PAGES * PAGE, PERM_R);
    arena.streams.push({ ctx, va: sva, size: STREAM_PAGES * PAGE });
    arena.tables.push(...(await ctx.pt.tables()));
  }
  for (const q of [0, 1]) arena.queues.push(await d.queue(q, rng.range(1, 5)));
  return arena;
}

/** A VA for a command: mostly inside the context's data, sometimes anywhere. */
function randomVa(rng: Prng, arena: Arena, ctx: Context, align: number): bigint {
  const k = rng.below(20);
  let va: bigint;
  if (k < 15) {
    const mine = arena.data.filter((r) => r.ctx === ctx);
    const r = rng.pick(mine.length ? mine : arena.data);
    va = r.va + BigInt(rng.below(r.size));
  } else if (k < 17) {
    va = rng.pick(arena.data).va + BigInt(rng.below(DATA_PAGES * PAGE * 2)); // maybe another context's, or a guard page
  } else if (k < 18) {
    va = (1n << 39n) - BigInt(rng.below(3 * PAGE));
  } else {
    va = rng.u64();
  }
  if (rng.chance(0.9)) va -= va % BigInt(align);
  return va;
}

function randomSize(rng: Prng, align: number): bigint {
  const k = rng.below(20);
  let s: bigint;
  if (k < 16) s = BigInt(rng.below(3 * PAGE));
  else if (k < 18) s = BigInt(R.DATA_SIZE_MAX + rng.range(-8, 8));
  else s = BigInt(rng.u32());
  if (rng.chance(0.9)) s -= s % BigInt(align);
  return s < 0n ? 0n : s;
}

/** One command, valid or not. */
export function randomCommand(rng: Prng, arena: Arena, ctx: Context): Buffer {
  const reserved = (): number => (rng.chance(0.93) ? 0 : rng.u32());
  switch (rng.below(10)) {
    case 0:
      return cmd.nop(reserved());
    case 1:
      return cmd.copy(randomVa(rng, arena, ctx, 1), randomVa(rng, arena, ctx, 1), randomSize(rng, 1), reserved());
    case 2:
      return cmd.fill(randomVa(rng, arena, ctx, 4), randomSize(rng, 4), rng.u32());
    case 3:
      return cmd.crc32c(randomVa(rng, arena, ctx, 1), randomSize(rng, 1), randomVa(rng, arena, ctx, 4), rng.u32());
    case 4: {
      const count = rng.chance(0.9) ? rng.below(2000) : rng.chance(0.5) ? R.FMA_COUNT_MAX + rng.range(-1, 1) : rng.u32();
      return cmd.fmaF32(count, randomVa(rng, arena, ctx, 4), randomVa(rng, arena, ctx, 4), randomVa(rng, arena, ctx, 4), randomVa(rng, arena, ctx, 4));
    }
    case 5:
      return cmd.fence(randomVa(rng, arena, ctx, 8), rng.u64(), rng.chance(0.9) ? rng.below(2) : rng.u32());
    case 6:
      return cmd.timestamp(randomVa(rng, arena, ctx, 8), reserved());
    case 7:
      return rawCommand(rng.chance(0.5) ? rng.range(7, 16) : rng.u32(), rng.u32(), [rng.u64(), rng.u64()]);
    default:
      return rng.bytes(8 * rng.range(1, 5));
  }
}

export interface RandomJob {
  /** Writes the stream into guest RAM. */
  write: () => Promise<void>;
  /** The descriptor (sometimes malformed). */
  desc: Buffer;
}

/** A random stream in a stream region and a descriptor for it; all randomness drawn up front. */
export function randomJob(rng: Prng, arena: Arena): RandomJob {
  const region = rng.pick(arena.streams);
  const cmds: Buffer[] = [];
  for (let i = rng.range(1, 10); i > 0; i -= 1) cmds.push(randomCommand(rng, arena, region.ctx));
  let s = Buffer.concat(cmds);
  if (s.length > region.size - 64) s = s.subarray(0, region.size - 64);
  const off = 8 * rng.below((region.size - s.length) / 8);
  const good = rng.chance(0.85);
  const desc = encodeDescriptor({
    flags: good ? rng.below(2) : rng.u32(),
    context: good || rng.chance(0.5) ? region.ctx.id : rng.pick([rng.below(70), rng.u32()]),
    cmdAddr: good || rng.chance(0.5) ? region.va + BigInt(off) : rng.u64(),
    cmdSize: good ? s.length : rng.pick([rng.u32(), 8 * rng.below(200), s.length + rng.range(-8, 8)]),
    reserved: good ? 0 : rng.pick([0, rng.u32()]),
    userData: rng.u64(),
  });
  return { write: () => region.ctx.write(region.va + BigInt(off), s), desc };
}

/** A random page-table or context-table entry (often malformed). */
export function randomEntry(rng: Prng, arena: Arena, bar0: number): bigint {
  const flags = BigInt(rng.below(8));
  switch (rng.below(8)) {
    case 0:
      return 0n;
    case 1:
      return BigInt(rng.pick(arena.tables)) | flags;
    case 2:
      return BigInt(rng.pick(arena.dataPages)) | flags;
    case 3:
      return BigInt(UNASSIGNED_BUS_ADDR) | 1n;
    case 4:
      return BigInt(bar0) | flags; // the device's own registers, through DMA
    case 5:
      return BigInt(rng.pick(arena.dataPages)) | flags | (1n << BigInt(rng.range(3, 63)));
    default:
      return rng.u64();
  }
}

const LISTED = [...listedOffsets(true)].sort((a, b) => a - b);
const LISTED_ON = listedOffsets(true);
const LISTED_OFF = listedOffsets(false);

/** Every listed offset (fault-injection on). */
export const LISTED_OFFSETS: readonly number[] = LISTED;

/** A register offset: mostly a listed one. */
export function randomOffset(rng: Prng): number {
  return rng.chance(0.85) ? rng.pick(LISTED) : 4 * rng.below(R.REGS_SIZE / 4);
}

/** A value for a register write, often a plausible one for that register. */
export function randomValue(rng: Prng, off: number, d: Ossa, arena: Arena): number {
  if (rng.chance(0.15)) return rng.u32();
  const q = off >= R.REG_QUEUE(0) && off < R.REG_QUEUE(1) + R.QUEUE_REGS_SIZE ? (off - R.REG_QUEUE(0)) >> 6 : -1;
  const reg = q >= 0 ? (off - R.REG_QUEUE(0)) & 0x3f : -1;
  const queue = arena.queues[q === 1 ? 1 : 0];
  switch (q >= 0 ? 0x1000 + reg : off) {
    case 0x1000 + R.REG_Q_BASE_LO:
      return rng.chance(0.7) && queue ? queue.ring : rng.u32();
    case 0x1000 + R.REG_Q_BASE_HI:
      return rng.chance(0.9) ? 0 : rng.below(256);
    case 0x1000 + R.REG_Q_SIZE:
      return rng.below(14);
    case 0x1000 + R.REG_Q_CONTROL:
      return rng.below(2);
    case 0x1000 + R.REG_Q_TAIL:
      return (queue?.tail ?? 0) + rng.range(-2, 40);
    case R.REG_RESET:
      return rng.chance(0.1) ? R.RESET_MAGIC : rng.u32();
    case R.REG_CTX_TABLE_LO:
      return rng.chance(0.9) ? d.ctxTable.base : rng.u32();
    case R.REG_CTX_TABLE_HI:
      return rng.chance(0.9) ? 0 : rng.u32();
    case R.REG_INJECT_HANG:
      return rng.chance(0.7) ? 0 : rng.below(4);
    case R.REG_INJECT_FAIL:
      return rng.below(2);
    case R.REG_INJECT_DELAY_US:
      return rng.chance(0.6) ? 0 : rng.chance(0.9) ? rng.below(50) : rng.u32();
    case R.REG_INJECT_FAULT_LO:
      return Number((rng.pick(arena.data).va & 0xffff_f000n) | BigInt(rng.below(2)));
    case R.REG_FAULT_INFO:
      return rng.chance(0.5) ? R.FAULT_INFO_VALID : rng.u32();
    default:
      return rng.chance(0.5) ? rng.below(16) : rng.u32();
  }
}

/** Checks what any read of a register may return, whatever happened before. */
export function checkRead(off: number, v: number, faultInjection: boolean): void {
  const where = `register 0x${off.toString(16)} = 0x${v.toString(16)}`;
  const qreg = off >= R.REG_QUEUE(0) && off < R.REG_QUEUE(1) + R.QUEUE_REGS_SIZE ? (off - R.REG_QUEUE(0)) & 0x3f : -1;
  if (off === R.REG_ID) expect(v, where).toBe(R.ID_MAGIC);
  else if (off === R.REG_VERSION) expect(v, where).toBe(R.VERSION_VALUE);
  else if (off === R.REG_CAPS) expect(v & R.CAPS_FAULT_INJECTION, where).toBe(faultInjection ? R.CAPS_FAULT_INJECTION : 0);
  else if (off === R.REG_RESET) expect(v, where).toBe(0);
  else if (off === R.REG_IRQ_STATUS || off === R.REG_IRQ_MASK) expect(v & ~R.IRQ_ALL, where).toBe(0);
  else if (off === R.REG_CTX_TABLE_LO) expect(v & 0xfff, where).toBe(0);
  else if (off === R.REG_FAULT_INFO) {
    expect(v & ~(R.FAULT_INFO_VALID | R.FAULT_INFO_CAUSE_MASK | R.FAULT_INFO_WRITE | (1 << R.FAULT_INFO_QUEUE_SHIFT) | R.FAULT_INFO_CONTEXT_MASK), where).toBe(0);
    if (v & R.FAULT_INFO_VALID) {
      const cause = (v & R.FAULT_INFO_CAUSE_MASK) >>> R.FAULT_INFO_CAUSE_SHIFT;
      expect(cause >= 1 && cause <= 7, where).toBe(true);
    } else {
      expect(v, where).toBe(0);
    }
  } else if (off === R.REG_INJECT_HANG) expect(v & ~3, where).toBe(0);
  else if (off === R.REG_INJECT_FAIL) expect(v & ~1, where).toBe(0);
  else if (off === R.REG_INJECT_DELAY_US) expect(v <= R.INJECT_DELAY_MAX_US, where).toBe(true);
  else if (off === R.REG_INJECT_FAULT_LO) expect(v & 0xffe, where).toBe(0);
  else if (qreg === R.REG_Q_BASE_LO) expect(v & 0x3f, where).toBe(0);
  else if (qreg === R.REG_Q_CONTROL) expect(v & ~1, where).toBe(0);
  else if (qreg === R.REG_Q_STATUS) {
    expect(v & ~(R.Q_STATUS_ENABLED | R.Q_STATUS_BUSY | R.Q_STATUS_ERROR | R.Q_STATUS_CODE_MASK), where).toBe(0);
    const code = (v & R.Q_STATUS_CODE_MASK) >>> R.Q_STATUS_CODE_SHIFT;
    if (v & R.Q_STATUS_ERROR) {
      expect(code >= 1 && code <= 3, where).toBe(true);
      expect(v & (R.Q_STATUS_ENABLED | R.Q_STATUS_BUSY), where).toBe(0);
    } else {
      expect(code, where).toBe(0);
    }
    if (v & R.Q_STATUS_BUSY) expect(v & R.Q_STATUS_ENABLED, where).toBe(R.Q_STATUS_ENABLED);
  } else if (!(faultInjection ? LISTED_ON : LISTED_OFF).has(off)) expect(v, where).toBe(0);
}

/** Config register `off` of the device, written through MMCONFIG: one access, which no other operation splits. */
function configWrite(d: Ossa, off: number, size: 1 | 2 | 4, v: number): Promise<unknown> {
  const at = mmconfigAddress(d.pci, off);
  return size === 1 ? d.qt.writeb(at, v) : size === 2 ? d.qt.writew(at, v) : d.qt.writel(at, v);
}

/**
 * A random write to config space, header, capabilities or extended space,
 * of 1, 2 or 4 bytes, aligned. It keeps memory decoding on and starts no
 * FLR (randomFlr() does both properly), and leaves the BARs alone.
 */
function randomConfigWrite(d: Ossa, rng: Prng, arena: Arena): Promise<unknown> {
  const size = rng.pick([1, 2, 4] as const);
  const k = rng.below(10);
  let off = k < 3 ? rng.below(0x40) : k < 8 ? 0x40 + rng.below(0xc0) : 0x100 + rng.below(0xf00);
  off -= off % size;
  if (off + size > CONFIG_BARS.from && off < CONFIG_BARS.to) off = PCI_COMMAND;
  let v = rng.u32() & (size === 4 ? 0xffff_ffff : size === 2 ? 0xffff : 0xff);
  // bits of COMMAND and DEVCTL that the value covers, as byte positions
  const keep = (reg: number, bits: number, set: boolean): void => {
    for (let b = 0; b < size; b += 1) {
      const mask = (bits >>> (8 * (off + b - reg))) & 0xff;
      if (off + b >= reg && off + b < reg + 2 && mask) v = set ? v | (mask << (8 * b)) : v & ~(mask << (8 * b));
    }
  };
  keep(PCI_COMMAND, PCI_COMMAND_MEMORY, true);
  keep(arena.expCap + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, false);
  return configWrite(d, off, size, v >>> 0);
}

/** An MSI-X message address: the mailbox, a device register (a message that writes one), or a RAM page. */
function randomMessageAddress(rng: Prng, d: Ossa, arena: Arena): number {
  const k = rng.below(10);
  if (k < 6) return d.mailbox + 4 * rng.below(d.msix.tableSize);
  if (k < 8) return d.bar0 + 4 * rng.below(R.REGS_SIZE / 4);
  return rng.pick(arena.dataPages) + 4 * rng.below(PAGE / 4);
}

/** A random write to one field of an MSI-X table entry. */
function randomMsixWrite(d: Ossa, rng: Prng, arena: Arena): Promise<unknown> {
  const e = d.msix.entryAddr(rng.below(d.msix.tableSize));
  const field = rng.below(4);
  const values = [randomMessageAddress(rng, d, arena), 0, rng.chance(0.7) ? msixData(rng.below(3)) : rng.u32(), rng.below(2)];
  const v = rng.chance(0.9) ? (values[field] as number) : rng.u32();
  return d.qt.writel(e + field * 4, v >>> 0);
}

/**
 * An FLR in the middle of whatever runs, then the function set up again as
 * a driver would: BARs, memory and bus mastering, the MSI-X table (every
 * vector at the mailbox) and MSI-X on, all through MMCONFIG; then the
 * context table and both rings. Issued in order, without waiting between.
 */
function randomFlr(d: Ossa, arena: Arena): Promise<unknown> {
  const ops: Array<Promise<unknown>> = [configWrite(d, arena.expCap + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR)];
  for (const [index, addr] of d.bars) {
    ops.push(configWrite(d, PCI_BASE_ADDRESS_0 + 4 * index, 4, addr >>> 0));
    // BAR0 is 64-bit; the MSI-X BAR 32-bit (3)
    if (index === R.BAR_REGS) ops.push(configWrite(d, PCI_BASE_ADDRESS_0 + 4 * index + 4, 4, Math.floor(addr / 2 ** 32)));
  }
  ops.push(configWrite(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
  for (let v = 0; v < d.msix.tableSize; v += 1) {
    const e = d.msix.entryAddr(v);
    ops.push(d.qt.writel(e, d.mailbox + 4 * v), d.qt.writel(e + 4, 0), d.qt.writel(e + 8, msixData(v)), d.qt.writel(e + 12, 0));
  }
  ops.push(configWrite(d, d.msix.cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE));
  // the device again: its context table, and both rings from index 0
  ops.push(d.write(R.REG_CTX_TABLE_LO, d.ctxTable.base >>> 0), d.write(R.REG_CTX_TABLE_HI, Math.floor(d.ctxTable.base / 2 ** 32)));
  for (const q of arena.queues) {
    q.tail = 0;
    ops.push(
      q.writeReg(R.REG_Q_BASE_LO, q.ring >>> 0),
      q.writeReg(R.REG_Q_BASE_HI, Math.floor(q.ring / 2 ** 32)),
      q.writeReg(R.REG_Q_SIZE, q.log2),
      q.writeReg(R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE),
    );
  }
  return Promise.all(ops);
}

/** A QOM property of an injection knob and a value; `valid` whether the property must take it. */
function randomQomSetting(rng: Prng, arena: Arena): { prop: string; value: number; valid: boolean } {
  switch (rng.below(4)) {
    case 0: {
      const value = rng.chance(0.85) ? rng.below(4) : rng.below(256);
      return { prop: 'inject-hang', value, valid: value < 4 };
    }
    case 1: {
      const value = rng.chance(0.85) ? rng.below(2) : rng.below(16);
      return { prop: 'inject-fail', value, valid: value < 2 };
    }
    case 2: {
      const value = rng.chance(0.5) ? 0 : rng.chance(0.8) ? rng.below(50) : R.INJECT_DELAY_MAX_US + rng.range(-2, 2);
      return { prop: 'inject-delay-us', value, valid: value <= R.INJECT_DELAY_MAX_US };
    }
    default: {
      const page = Number(rng.pick(arena.data).va & 0x7f_ffff_f000n);
      const value = rng.chance(0.3) ? 0 : rng.chance(0.85) ? page + rng.below(2) : page + 8;
      return { prop: 'inject-fault', value, valid: value % PAGE < 2 };
    }
  }
}

/** Sets an injection knob through QMP qom-set: a value the register holds is taken, any other refused. */
function randomQomSet(d: Ossa, rng: Prng, arena: Arena): Promise<unknown> {
  const { prop, value, valid } = randomQomSetting(rng, arena);
  const set = d.qt.qmp.qomSet(DEVICE_QOM_PATH, prop, value);
  return valid ? set : expect(set, `qom-set ${prop} ${value}`).rejects.toThrow(/ossa: inject-/);
}

/** One random operation; every random number is drawn before the first await. */
export function randomOp(d: Ossa, rng: Prng, arena: Arena): Promise<unknown> {
  const k = rng.below(108);
  if (k >= 100) {
    if (k < 103) return randomConfigWrite(d, rng, arena);
    if (k < 106) return randomMsixWrite(d, rng, arena);
    if (k < 107) return randomQomSet(d, rng, arena);
    return randomFlr(d, arena);
  }
  if (k < 25) {
    if (rng.chance(0.05)) {
      // wrong-size or misaligned access anywhere in BAR0
      const at = d.bar0 + rng.below(R.REGS_SIZE);
      return rng.chance(0.5) ? d.qt.writeb(at, rng.u32()) : d.qt.writew(at - (at % 2), rng.u32());
    }
    const off = randomOffset(rng);
    return d.write(off, randomValue(rng, off, d, arena));
  }
  if (k < 35) {
    const off = randomOffset(rng);
    return d.read(off).then((v) => checkRead(off, v, true));
  }
  if (k < 60) {
    // a job in the next slot (sometimes another one), and the doorbell
    const q = rng.pick(arena.queues);
    const job = randomJob(rng, arena);
    const slot = rng.chance(0.95) ? q.tail : rng.u32();
    const ring = rng.chance(0.9);
    const tail = (q.tail + 1) >>> 0;
    if (ring) q.tail = tail;
    // issued in order, without waiting in between: qtest keeps the order
    return Promise.all([job.write(), q.writeDescriptor(slot, job.desc), ring ? q.writeReg(R.REG_Q_TAIL, tail) : undefined]);
  }
  if (k < 64) {
    const q = rng.pick(arena.queues);
    const tail = rng.chance(0.95) ? (q.tail + rng.range(-1, 4)) >>> 0 : rng.u32();
    q.tail = tail;
    return q.writeReg(R.REG_Q_TAIL, tail);
  }
  if (k < 72) {
    const table = rng.pick(arena.tables);
    return d.qt.writeq(table + 8 * rng.below(512), randomEntry(rng, arena, d.bar0));
  }
  if (k < 75) {
    const id = rng.chance(0.8) ? rng.pick(arena.ctxs).id : rng.below(R.NUM_CONTEXTS);
    return d.ctxTable.setRaw(id, randomEntry(rng, arena, d.bar0), rng.chance(0.9) ? 0n : rng.u64());
  }
  if (k < 79) {
    const c = rng.pick(arena.ctxs);
    return d.ctxTable.setRoot(c.id, c.pt.root);
  }
  if (k < 81) {
    const page = rng.pick(arena.dataPages);
    return d.qt.write(page + rng.below(4000), rng.bytes(rng.range(1, 96)));
  }
  if (k < 87) {
    // revive a queue: disable, a valid ring again (its descriptors stay), enable
    const q = rng.pick(arena.queues);
    q.tail = 0;
    return Promise.all([
      q.writeReg(R.REG_Q_CONTROL, 0),
      q.writeReg(R.REG_Q_BASE_LO, q.ring),
      q.writeReg(R.REG_Q_BASE_HI, 0),
      q.writeReg(R.REG_Q_SIZE, q.log2),
      q.writeReg(R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE),
    ]);
  }
  if (k < 91) return d.qt.clockStep(rng.below(2_000_000) + 1);
  if (k < 92) return d.pci.setBusMaster(rng.chance(0.8));
  if (k < 94) {
    const lo = rng.chance(0.8) ? 0xffff_ffff : rng.u32();
    const hi = rng.chance(0.8) ? 0xffff_ffff : rng.u32();
    return Promise.all([d.write(R.REG_CTX_STOPPED_LO, lo), d.write(R.REG_CTX_STOPPED_HI, hi)]);
  }
  if (k < 96) return d.write(R.REG_FAULT_INFO, R.FAULT_INFO_VALID);
  return d.write(R.REG_IRQ_STATUS, rng.u32());
}
