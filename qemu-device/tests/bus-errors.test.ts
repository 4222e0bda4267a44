/**
 * Datasheet 7.4 BUS_ERROR (cause 6) on accesses that run off the end of guest
 * RAM: the page tables map consecutive VA pages to consecutive bus pages, the
 * first ones the last pages of RAM, the next ones the unassigned bus
 * addresses right above it. The device takes such a run as one access that
 * is not plain RAM as a whole, so it moves the data piecewise; the fault must
 * still name the first byte of the access in the first page that nothing
 * backs, keep the effects before it, and stop the job there.
 */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import type { Context, Ossa } from './device.js';
import { useOssa } from './harness.js';
import { GUEST_RAM_END, PAGE, PERM_RW, UNASSIGNED_BUS_ADDR } from './memory.js';
import { refFill } from '../../userspace/src/reference.js';
import { R } from './regs.js';

/**
 * Bytes of each run below the end of RAM: many pages, and as much as one of
 * the pieces (64 KiB bounce buffers) the model moves such a run in, so that
 * the run takes two pieces and the first unbacked byte starts the second.
 */
const RAM_PART = 64 * 1024;
/** Bytes of the run above the end of RAM, where nothing answers on the bus. */
const HOLE_PART = 64 * 1024;
const MARK = 0x6d61_726b_6d61_726bn;

interface Run {
  /** VA of the run's first byte. */
  va: bigint;
  /** VA of the first byte that nothing backs. */
  hole: bigint;
}

/**
 * Maps RAM_PART + HOLE_PART bytes at a fresh VA onto the bus addresses
 * [GUEST_RAM_END - RAM_PART, GUEST_RAM_END + HOLE_PART), which are
 * contiguous on the bus; zeroes the RAM part.
 */
async function ramEdgeRun(d: Ossa, ctx: Context): Promise<Run> {
  // The bump allocator must not have reached the RAM this run borrows.
  expect(d.mem.start + d.mem.used).toBeLessThan(GUEST_RAM_END - RAM_PART);
  const va = ctx.reserve(RAM_PART + HOLE_PART);
  const first = GUEST_RAM_END - RAM_PART;
  const pages = Array.from({ length: (RAM_PART + HOLE_PART) / PAGE }, (_, i) => first + i * PAGE);
  await ctx.pt.mapPages(va, pages, PERM_RW);
  await d.qt.memset(first, RAM_PART, 0);
  return { va, hole: va + BigInt(RAM_PART) };
}

/** Maps `size` bytes at a fresh VA onto unassigned bus addresses. */
async function unbacked(ctx: Context, size: number): Promise<bigint> {
  const va = ctx.reserve(size);
  const pages = Array.from({ length: size / PAGE }, (_, i) => UNASSIGNED_BUS_ADDR + i * PAGE);
  await ctx.pt.mapPages(va, pages, PERM_RW);
  return va;
}

/** A zeroed u64 for a FENCE marker after the failing command. */
async function marker(ctx: Context): Promise<bigint> {
  return ctx.allocZeroed(8);
}

/** Checks the fault record but FAULT_ADDR, and the stopped context, after a BUS_ERROR. */
async function expectBusErrorRecord(d: Ossa, ctx: Context, write: boolean): Promise<void> {
  const info = await d.read(R.REG_FAULT_INFO);
  expect({
    valid: (info & R.FAULT_INFO_VALID) !== 0,
    cause: (info & R.FAULT_INFO_CAUSE_MASK) >>> R.FAULT_INFO_CAUSE_SHIFT,
    write: (info & R.FAULT_INFO_WRITE) !== 0,
    context: info & R.FAULT_INFO_CONTEXT_MASK,
  }).toEqual({ valid: true, cause: R.FAULT_BUS_ERROR, write, context: ctx.id });
  expect(await d.read(R.REG_FAULT_COUNT)).toBe(1);
  expect(await d.ctxStopped()).toBe(1n << BigInt(ctx.id));
}

/** Checks the fault record, FAULT_ADDR included, and the stopped context after a BUS_ERROR. */
async function expectBusError(d: Ossa, ctx: Context, addr: bigint, write: boolean): Promise<void> {
  await expectBusErrorRecord(d, ctx, write);
  expect(await d.faultAddr(), 'FAULT_ADDR').toBe(addr);
}

/** Pages of the FILL below that start in RAM, before the first unbacked page. */
const PAGES_BEFORE_HOLE = 2;

/**
 * A FILL of 4 pages that starts PAGES_BEFORE_HOLE pages below the first
 * unbacked page (one piece of the model's transfer); returns the run.
 */
async function fillIntoHole(d: Ossa, ctx: Context): Promise<Run> {
  const run = await ramEdgeRun(d, ctx);
  const start = run.hole - BigInt(PAGES_BEFORE_HOLE * PAGE);
  const r = await d.run(ctx, [cmd.fill(start, 4 * PAGE, 0xabab_abab)]);
  expect({ status: r.status, errorOffset: r.errorOffset }).toEqual({ status: R.JOB_MMU_FAULT, errorOffset: 0 });
  return run;
}

describe('7.4 BUS_ERROR on a run from the end of RAM into unassigned bus addresses', () => {
  const dev = useOssa();

  test('FILL: the RAM part is filled, the fault is at the first unbacked byte (write), the next command does not run', async () => {
    const d = dev();
    const ctx = await d.context(1);
    const run = await ramEdgeRun(d, ctx);
    const m = await marker(ctx);
    const r = await d.run(ctx, [cmd.fill(run.va, RAM_PART + HOLE_PART, 0xf111_f111), cmd.fence(m, MARK)]);
    expect({ status: r.status, errorOffset: r.errorOffset }).toEqual({ status: R.JOB_MMU_FAULT, errorOffset: 0 });
    await expectBusError(d, ctx, run.hole, true);
    const ram = await d.qt.read(GUEST_RAM_END - RAM_PART, RAM_PART);
    expect(ram.equals(refFill(0xf111_f111, RAM_PART)), 'the RAM part was filled').toBe(true);
    expect(await ctx.readU64(m)).toBe(0n);
  });

  test('CRC32C: the fault is at the first unbacked byte (read); no result is written', async () => {
    const d = dev();
    const ctx = await d.context(2);
    const run = await ramEdgeRun(d, ctx);
    const out = await ctx.alloc(8);
    await ctx.write(out, Buffer.alloc(8, 0xcc));
    const r = await d.run(ctx, [cmd.nop(), cmd.crc32c(run.va, RAM_PART + HOLE_PART, out)]);
    expect({ status: r.status, errorOffset: r.errorOffset }).toEqual({ status: R.JOB_MMU_FAULT, errorOffset: R.CMD_NOP_SIZE });
    await expectBusError(d, ctx, run.hole, false);
    expect(await ctx.read(out, 8)).toEqual(Buffer.alloc(8, 0xcc));
  });

  test('COPY from the run to an unbacked destination: the write faults at the destination\'s first byte', async () => {
    const d = dev();
    const ctx = await d.context(3);
    const run = await ramEdgeRun(d, ctx);
    const dst = await unbacked(ctx, RAM_PART + HOLE_PART);
    const r = await d.run(ctx, [cmd.copy(run.va, dst, RAM_PART + HOLE_PART)]);
    expect(r.status).toBe(R.JOB_MMU_FAULT);
    await expectBusError(d, ctx, dst, true);
  });

  test('a FILL starting in RAM pages below the first unbacked page: BUS_ERROR (write) in its context, the RAM pages filled, FAULT_ADDR the first byte of the access in the faulting page', async () => {
    // Datasheet 7.5: FAULT_ADDR is "the first byte of the access in the
    // faulting page", not where the device's transfer started.
    const d = dev();
    const ctx = await d.context(4);
    const run = await fillIntoHole(d, ctx);
    await expectBusError(d, ctx, run.hole, true);
    const size = PAGES_BEFORE_HOLE * PAGE;
    expect((await d.qt.read(GUEST_RAM_END - size, size)).equals(refFill(0xabab_abab, size)), 'the pages before the hole were filled').toBe(true);
  });

  test('a COPY from RAM whose destination runs from RAM into unbacked pages: the RAM part is written, FAULT_ADDR the first byte of the access in the faulting page', async () => {
    const d = dev();
    const ctx = await d.context(5);
    const run = await ramEdgeRun(d, ctx);
    const size = PAGES_BEFORE_HOLE * PAGE;
    // Contiguous on the bus: the source is one run, as long as the destination's.
    const src = await ctx.alloc(4 * PAGE, PERM_RW, { scattered: false });
    const data = Buffer.alloc(4 * PAGE, 0x5c);
    await ctx.write(src, data);
    const r = await d.run(ctx, [cmd.copy(src, run.hole - BigInt(size), 4 * PAGE)]);
    expect({ status: r.status, errorOffset: r.errorOffset }).toEqual({ status: R.JOB_MMU_FAULT, errorOffset: 0 });
    await expectBusError(d, ctx, run.hole, true);
    expect((await d.qt.read(GUEST_RAM_END - size, size)).equals(data.subarray(0, size)), 'the pages before the hole were written').toBe(true);
  });
});
