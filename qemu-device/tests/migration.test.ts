/**
 * Migration of the device with the machine (design brief: "migration
 * state"): a device with programmed rings, a context table, a completed job,
 * a recorded fault and interrupt state reads back the same on the
 * destination and runs jobs there; a job in the middle of a command goes on
 * and ends there with the results it would have had.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cmd, type Descriptor, type JobResult } from './commands.js';
import { type Context, Ossa, Queue } from './device.js';
import { split64 } from './harness.js';
import { listedOffsets } from './layout.js';
import { PAGE } from './memory.js';
import { loadFrom, saveTo, startDestination, StreamDir } from './migration.js';
import { PCI_COMMAND } from './pci.js';
import { Prng } from '../../userspace/src/prng.js';
import { refCrc32c, refFill, refFmaF32 } from '../../userspace/src/reference.js';
import { R } from './regs.js';

const SCRATCH = 0x5ca7_c4ed;
const MARK = 0x6d69_6772_6174_6564n;
/** An unused page that faults with cause INJECTED (section 12), to see INJECT_FAULT migrate. */
const INJECT_FAULT_PAGE = 0x7_0000_0000n;
const TIME_PAST_4G_NS = 5_000_000_000;
/** What the completed job copies (to `out` + COPIED_AT) and then overwrites with CLOBBER. */
const COPIED = 256;
const COPIED_AT = 512n;
const CLOBBER = 0xdead_beef;

/** Every listed BAR0 register but TIME_LO, whose read latches TIME_HI. */
async function registers(d: Ossa): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const off of [...listedOffsets(true)].sort((a, b) => a - b)) {
    if (off !== R.REG_TIME_LO) out.set(off, await d.read(off));
  }
  return out;
}

/** The PCI command register and the addresses of BAR0 and the MSI-X BAR. */
async function pciState(d: Ossa): Promise<number[]> {
  return [await d.pci.read16(PCI_COMMAND), await d.pci.barAddress(R.BAR_REGS), await d.pci.barAddress(R.BAR_MSIX)];
}

/** A queue helper on the destination for a ring the source set up (not enabled again: that would reset it). */
function migratedQueue(dst: Ossa, q: Queue): Queue {
  const mq = new Queue(dst, q.q, q.ring, q.log2);
  mq.tail = q.tail;
  return mq;
}

describe('a device with rings, contexts, a completed job, a fault and pending interrupts, migrated', () => {
  let streams: StreamDir | undefined;
  let src: Ossa | undefined;
  let dst: Ossa | undefined;
  let ctx: Context;
  let q0: Queue;
  let q1: Queue;
  /** The same rings, on the destination. */
  let dq0: Queue;
  let dq1: Queue;
  let before: Map<number, number>;
  let pciBefore: number[];
  let data: Buffer;
  /** The job completed on the source. */
  let done: JobResult;
  let out: bigint;
  /** Prepared on the source, submitted on the destination. */
  let nextJob: Descriptor;
  let stoppedJob: Descriptor;

  const dest = (): Ossa => {
    if (!dst) throw new Error('no destination');
    return dst;
  };

  beforeAll(async () => {
    streams = await StreamDir.create();
    // INTx, so that the interrupt line's level is part of the state
    src = await Ossa.start({ msix: false });
    const s = src;
    await s.write(R.REG_SCRATCH, SCRATCH);
    ctx = await s.context(1);
    const bad = await s.context(2);
    data = new Prng(0x516).bytes(2 * PAGE);
    const dataVa = await ctx.alloc(data.length);
    await ctx.write(dataVa, data);
    out = await ctx.alloc(PAGE);
    await ctx.write(out, Buffer.alloc(PAGE));
    q0 = await s.queue(0, 4);
    q1 = await s.queue(1, 3);
    // device time past 2^32 ns: the job's timestamps, and the TIME_HI latched below, are not 0
    await s.qt.clockStep(TIME_PAST_4G_NS);
    // not idempotent: run again, it would copy the filled bytes
    done = await q0.run(
      await ctx.job([cmd.copy(dataVa, out + COPIED_AT, COPIED), cmd.fill(dataVa, COPIED, CLOBBER), cmd.fence(out, MARK)], {
        flags: R.DESC_FLAG_IRQ,
        userData: 0x77n,
      }),
    );
    expect(done.status).toBe(R.JOB_OK);
    expect((await q1.run(await bad.job(cmd.fence(bad.reserve(8), 1n)))).status).toBe(R.JOB_MMU_FAULT);
    await s.write(R.REG_IRQ_MASK, R.IRQ_QUEUE_JOB(0) | R.IRQ_MMU_FAULT);
    const [lo, hi] = split64(INJECT_FAULT_PAGE | BigInt(R.INJECT_FAULT_ENABLE));
    await s.write(R.REG_INJECT_FAULT_LO, lo);
    await s.write(R.REG_INJECT_FAULT_HI, hi);
    await s.read(R.REG_TIME_LO); // latches TIME_HI
    nextJob = await ctx.job([cmd.copy(dataVa + BigInt(PAGE), out + 256n, 256), cmd.crc32c(dataVa + BigInt(PAGE), 256, out + 128n, 0)]);
    stoppedJob = await bad.job(cmd.nop());
    before = await registers(s);
    pciBefore = await pciState(s);
    // the state meant to migrate is there
    expect(before.get(R.REG_SCRATCH)).toBe(SCRATCH);
    expect(before.get(R.REG_TIME_HI)).toBeGreaterThan(0);
    expect(before.get(R.REG_FAULT_COUNT)).toBe(1);
    expect(before.get(R.REG_CTX_STOPPED_LO)).toBe(1 << 2);
    expect(before.get(R.REG_QUEUE(0) + R.REG_Q_HEAD)).toBe(1);
    expect(before.get(R.REG_QUEUE(1) + R.REG_Q_SIZE)).toBe(3);
    expect(before.get(R.REG_IRQ_STATUS)).toBe(R.IRQ_QUEUE_JOB(0) | R.IRQ_MMU_FAULT);
    expect(await s.pci.intxAsserted(), 'INTA asserted before migrating').toBe(true);

    const file = streams.path('state');
    await saveTo(s.qt, file);
    const qt = await startDestination();
    const st = await loadFrom(qt, file);
    if (st.status !== 'completed') {
      await qt.close();
      throw new Error(`incoming migration ${st.status}: ${st.errorDesc ?? ''}`);
    }
    dst = await Ossa.adopt(qt, s);
    expect(await s.qt.qmp.execute('query-status')).toMatchObject({ status: 'postmigrate' });
    expect(await qt.qmp.execute('query-status')).toMatchObject({ status: 'running' });
    dq0 = migratedQueue(dst, q0);
    dq1 = migratedQueue(dst, q1);
  });

  afterAll(async () => {
    await dst?.close();
    await src?.close();
    await streams?.[Symbol.asyncDispose]();
  });

  test('every register reads back the same on the destination (TIME_HI: the latched value)', async () => {
    expect(await registers(dest())).toEqual(before);
  });

  test('the completed job is not run again on the destination: its write-back and effects are as the source left them', async () => {
    const d = dest();
    expect(await dq0.result(0)).toEqual(done);
    expect(await d.qt.read(ctx.phys(out + COPIED_AT), COPIED)).toEqual(data.subarray(0, COPIED));
    expect(await d.qt.readq(ctx.phys(out))).toBe(MARK);
  });

  test('PCI state: command register and BARs, and INTA still asserted while IRQ_STATUS & IRQ_MASK is not 0', async () => {
    const d = dest();
    expect(await pciState(d)).toEqual(pciBefore);
    expect(await d.pci.intxAsserted()).toBe(true);
  });

  test('a job submitted on the destination runs on the migrated ring, in the migrated context', async () => {
    const d = dest();
    const r = await dq0.run(nextJob);
    expect(r.status).toBe(R.JOB_OK);
    expect(await d.readQ(0, R.REG_Q_HEAD)).toBe(2);
    expect(await d.qt.read(ctx.phys(out + 256n), 256)).toEqual(data.subarray(PAGE, PAGE + 256));
    expect(await d.qt.readl(ctx.phys(out + 128n))).toBe(refCrc32c(data.subarray(PAGE, PAGE + 256)));
  });

  test('a job in a new context runs on the destination', async () => {
    const d = dest();
    const fresh = await d.context(9);
    const buf = await fresh.alloc(PAGE);
    const r = await dq1.run(await fresh.job([cmd.fill(buf, PAGE, 0x0d57_0d57), cmd.timestamp(buf)]));
    expect(r.status).toBe(R.JOB_OK);
    expect((await fresh.read(buf + 8n, PAGE - 8)).equals(refFill(0x0d57_0d57, PAGE - 8))).toBe(true);
  });

  test('the stopped context stays stopped; the injected fault page still faults', async () => {
    const d = dest();
    expect((await dq1.run(stoppedJob)).status).toBe(R.JOB_CONTEXT_STOPPED);
    const other = await d.context(10);
    await other.alloc(PAGE, undefined, { va: INJECT_FAULT_PAGE });
    expect((await dq1.run(await other.job(cmd.fence(INJECT_FAULT_PAGE, 1n)))).status).toBe(R.JOB_MMU_FAULT);
    expect(await d.read(R.REG_FAULT_COUNT)).toBe(2);
  });
});

describe('a job in the middle of a command, migrated', () => {
  /** Three slices of CRC32C (section 11: slices of at most 1 MiB), then two of FILL. */
  const CRC_SIZE = 3 * 1024 * 1024;
  const FILL_SIZE = 2 * 1024 * 1024;
  const FILL_VALUE = 0xf1_11_f1_11;
  /** Between slices; before the save, the test steps no clock. */
  const DELAY_US = 1000;
  /** Clock steps on the source after the save: twice the job's slices. */
  const SOURCE_STEPS = (2 * (CRC_SIZE + FILL_SIZE)) / (1024 * 1024);

  test('CRC32C and FILL over several slices with INJECT_DELAY_US: the destination ends the job with the right results', async () => {
    await using streams = await StreamDir.create();
    await using src = await Ossa.start();
    await src.write(R.REG_INJECT_DELAY_US, DELAY_US);
    const ctx = await src.context(1);
    const page = new Prng(0x3ca1).bytes(PAGE);
    const crcSrc = await ctx.allocAliased(CRC_SIZE);
    await src.qt.write(crcSrc.pa, page);
    const fill = await ctx.allocAliased(FILL_SIZE);
    const out = await ctx.allocZeroed(16);
    const q = await src.queue(0);
    await q.submit(await ctx.job([cmd.crc32c(crcSrc.va, CRC_SIZE, out), cmd.fill(fill.va, FILL_SIZE, FILL_VALUE), cmd.fence(out + 8n, MARK)]));
    // the first slice ran; the rest waits for device time, which does not pass on the source
    expect(await q.head()).toBe(0);
    expect((await q.status()) & R.Q_STATUS_BUSY).toBe(R.Q_STATUS_BUSY);

    const file = streams.path('mid-job');
    await saveTo(src.qt, file);
    // The source, stopped after the save, must not go on with the job: its
    // clock stepped far past the delay, again and again (a running device
    // would run one more slice each time, and end the job), nothing the job
    // writes may change there (checked at the end).
    const past = 100n * BigInt(DELAY_US) * 1000n;
    expect(await src.qt.clockStep(past), 'the source\'s clock went past the delay').toBeGreaterThanOrEqual(past);
    for (let i = 1; i < SOURCE_STEPS; i += 1) await src.qt.clockStep(past);
    await using qt = await startDestination();
    expect((await loadFrom(qt, file)).status).toBe('completed');
    const dst = await Ossa.adopt(qt, src);
    const dq = migratedQueue(dst, q);
    await dq.waitHead(1, { stepClock: true });
    const r = await dq.result(0);
    expect({ status: r.status, errorOffset: r.errorOffset }).toEqual({ status: R.JOB_OK, errorOffset: 0 });
    const crcData = Buffer.concat(Array.from({ length: CRC_SIZE / PAGE }, () => page));
    expect(await dst.qt.readl(ctx.phys(out))).toBe(refCrc32c(crcData));
    expect((await dst.qt.read(fill.pa, PAGE)).equals(refFill(FILL_VALUE, PAGE))).toBe(true);
    expect(await dst.qt.readq(ctx.phys(out + 8n))).toBe(MARK);
    // nothing ran on the source after the save, its clock stepped as above
    expect(await src.readQ(0, R.REG_Q_HEAD)).toBe(0);
    expect(await src.qt.read(ctx.phys(out), 16), 'the CRC32C result and the FENCE value, on the source').toEqual(Buffer.alloc(16));
    expect((await src.qt.read(fill.pa, PAGE)).equals(Buffer.alloc(PAGE)), 'the FILL, on the source').toBe(true);
  });
});

describe('a job waiting out INJECT_DELAY_US between two slices, migrated', () => {
  /** One slice (1 MiB) and a page: two slices. */
  const FILL_SIZE = 1024 * 1024 + PAGE;
  const DELAY_US = 1000;
  const DELAY_NS = BigInt(DELAY_US) * 1000n;

  test('the destination runs the second slice once the rest of the delay has passed, not at once', async () => {
    await using streams = await StreamDir.create();
    await using src = await Ossa.start();
    await src.write(R.REG_INJECT_DELAY_US, DELAY_US);
    const ctx = await src.context(1);
    const fill = await ctx.allocAliased(FILL_SIZE);
    const q = await src.queue(0);
    await q.submit(await ctx.job(cmd.fill(fill.va, FILL_SIZE, 0x0d0d_0d0d)));
    // the first slice ran; the second waits for device time, which the test holds
    expect(await q.head()).toBe(0);
    expect((await q.status()) & R.Q_STATUS_BUSY).toBe(R.Q_STATUS_BUSY);
    // half the delay passes on the source
    await src.qt.clockStep(DELAY_NS / 2n);
    const file = streams.path('delayed');
    await saveTo(src.qt, file);

    await using qt = await startDestination();
    // the destination's device time (qtest's clock is not migrated) is where the source's was
    await qt.clockSet(DELAY_NS / 2n);
    expect((await loadFrom(qt, file)).status).toBe('completed');
    expect(await qt.qmp.execute('query-status')).toMatchObject({ status: 'running' });
    const dst = await Ossa.adopt(qt, src);
    const dq = migratedQueue(dst, q);
    expect(await dq.head(), 'Q_HEAD right after the migration: the delay is not over').toBe(0);
    await qt.clockStep(DELAY_NS / 2n - 1n);
    expect(await dq.head(), 'Q_HEAD 1 ns before the delay ends').toBe(0);
    await qt.clockStep(1n);
    await dq.waitHead(1);
    expect((await dq.result(0)).status).toBe(R.JOB_OK);
    expect((await qt.read(fill.pa, PAGE)).equals(refFill(0x0d0d_0d0d, PAGE))).toBe(true);
  });
});

describe('a COPY and an FMA_F32 in the middle of their work, migrated', () => {
  /** Two slices of COPY on queue 0; FMA_F32 on queue 1, 16 bytes an element (a, b, c, d): two slices too. */
  const COPY_SIZE = 2 * 1024 * 1024;
  const FMA_COUNT = 96 * 1024;
  const DELAY_US = 1000;

  test('the destination ends both commands with the right results', async () => {
    await using streams = await StreamDir.create();
    await using src = await Ossa.start();
    await src.write(R.REG_INJECT_DELAY_US, DELAY_US);
    const ctx = await src.context(1);
    const page = new Prng(0xc09e).bytes(PAGE);
    const from = await ctx.allocAliased(COPY_SIZE);
    await src.qt.write(from.pa, page);
    const to = await ctx.allocAliased(COPY_SIZE);
    const bytes = FMA_COUNT * 4;
    const vals = new Prng(0xf4a).bytes(PAGE);
    const abc = await ctx.allocAliased(bytes);
    await src.qt.write(abc.pa, vals);
    const d = await ctx.allocAliased(bytes);
    // one on each queue: both are in the middle of their command when saved
    const q = await src.queue(0);
    const q1 = await src.queue(1);
    await q.submit(await ctx.job([cmd.copy(from.va, to.va, COPY_SIZE)]));
    await q1.submit(await ctx.job([cmd.fmaF32(FMA_COUNT, abc.va, abc.va, abc.va, d.va)]));
    expect([await q.head(), await q1.head()]).toEqual([0, 0]);
    const file = streams.path('copy-fma');
    await saveTo(src.qt, file);
    await using qt = await startDestination();
    expect((await loadFrom(qt, file)).status).toBe('completed');
    const dst = await Ossa.adopt(qt, src);
    const dq = migratedQueue(dst, q);
    const dq1 = migratedQueue(dst, q1);
    await dq.waitHead(1, { stepClock: true });
    await dq1.waitHead(1, { stepClock: true });
    expect([(await dq.result(0)).status, (await dq1.result(0)).status]).toEqual([R.JOB_OK, R.JOB_OK]);
    expect((await dst.qt.read(to.pa, PAGE)).equals(page), 'the copied page').toBe(true);
    const words = new Uint32Array(vals.buffer, vals.byteOffset, PAGE / 4);
    const want = Buffer.from(refFmaF32(words, words, words).buffer);
    expect((await dst.qt.read(d.pa, PAGE)).equals(want), 'd = a * b + c').toBe(true);
  });
});
