/**
 * A migration stream is guest-influenced input to the destination (design
 * brief: no guest value can crash QEMU, migration included): the device
 * refuses to load a state that no register sequence can produce, names the
 * field on stderr, and loads nothing of it. Each test saves a real stream,
 * changes one field of the device's state in it (found by values around it
 * the test made unique) and checks that the destination fails the load
 * cleanly and stays up, and that the same stream unchanged loads.
 */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import { Ossa } from './device.js';
import { split64 } from './harness.js';
import { beBytes, loadFrom, patchStream, saveTo, startDestination, StreamDir } from './migration.js';
import { R } from './regs.js';

/** A ring base no test allocates (64-byte aligned, above RAM): unique in the stream. */
const MARKER_RING = 0x0123_4567_89ab_cdc0n;
/** Q_SIZE of the queue at MARKER_RING. */
const MARKER_SIZE = 5;
/** An INJECT_DELAY_US value in range (section 12), unique next to the fault page below. */
const DELAY_US = 999_983;
const FAULT_PAGE = 0x55_5aa5_5000n | BigInt(R.INJECT_FAULT_ENABLE);
/** A SCRATCH value unique in the stream: it comes before the interrupt registers and CTX_TABLE. */
const SCRATCH = 0x5c4a_7c11;
const LONG_FILL = 16 * 1024 * 1024;
/** Device time when the running job below starts (clock_set before it): a value unique in the stream. */
const JOB_START_NS = 0x1_2345_6789n;
/** Bytes the device saves of the command in progress (the largest command, FMA_F32). */
const SAVED_CMD_BYTES = R.CMD_FMA_F32_SIZE;

interface Patch {
  find: Buffer;
  replace: Buffer;
  /** The device's own line on stderr naming what it refused. */
  says: RegExp;
}

/** QEMU's message for a device section whose load (post_load) failed. */
const DEVICE_SECTION_FAILED = /error while loading state for instance 0x0 of device '[^']*\/ossa'/;

/** The device's line for a refused field of its own state, or of queue `q`'s. */
function refused(what: string, q?: number): RegExp {
  const where = q === undefined ? '' : `queue ${q}: `;
  return new RegExp(`ossa: migrated state refused: ${where}${what}`);
}

/** Saves `src`, checks the stream loads, then that it does not once patched; the destinations stay up. */
async function expectRefused(src: Ossa, patch: Patch): Promise<void> {
  await using streams = await StreamDir.create();
  const file = streams.path('state');
  await saveTo(src.qt, file);
  {
    await using good = await startDestination();
    expect((await loadFrom(good, file)).status, 'the unchanged stream loads').toBe('completed');
  }
  await patchStream(file, patch.find, patch.replace);
  await using bad = await startDestination();
  const st = await loadFrom(bad, file);
  expect(st.status).toBe('failed');
  // post_load's -EINVAL
  expect(st.errorDesc ?? '').toMatch(/Invalid argument/);
  // stderr is a pipe of its own: QEMU's messages may arrive after query-migrate's answer
  expect(await bad.waitStderr(DEVICE_SECTION_FAILED), `QEMU stderr:\n${bad.stderrText}`).toBe(true);
  expect(await bad.waitStderr(patch.says), `QEMU stderr:\n${bad.stderrText}`).toBe(true);
  expect(bad.alive, `QEMU died:\n${bad.stderrText}`).toBe(true);
  expect(await bad.qmp.execute('query-status')).toMatchObject({ status: 'inmigrate' });
  expect(bad.stderrText).not.toMatch(/AddressSanitizer|runtime error:/);
}

/** A queue's saved fields, in the stream's order, up to the command in progress (vmstate_ossa_queue). */
interface QueueFields {
  base: bigint;
  sizeLog2: number;
  enabled: number;
  tail: number;
  head: number;
  error: number;
  jobActive: number;
  jobFlags: number;
  context: number;
  root: number;
  cmdAddr: bigint;
  cmdSize: number;
  startNs: bigint;
  cmdLoaded: number;
  cmdOffset: number;
  /** The command in progress as loaded, SAVED_CMD_BYTES long. */
  cmd: Buffer;
  progress: bigint;
}

function queueBytes(f: QueueFields): Buffer {
  return Buffer.concat([
    beBytes([f.base, 8], [f.sizeLog2, 4], [f.enabled, 1], [f.tail, 4], [f.head, 4], [f.error, 4]),
    beBytes([f.jobActive, 1], [f.jobFlags, 4], [f.context, 4], [f.root, 8], [f.cmdAddr, 8], [f.cmdSize, 4], [f.startNs, 8]),
    beBytes([f.cmdLoaded, 1], [f.cmdOffset, 4]),
    f.cmd,
    beBytes([f.progress, 8]),
  ]);
}

/** `c` as the device saves it: padded with zeros to SAVED_CMD_BYTES (nothing larger was loaded before). */
function savedCmd(c: Buffer): Buffer {
  return Buffer.concat([c, Buffer.alloc(SAVED_CMD_BYTES - c.length)]);
}

/** Patches one field of a queue's saved state. */
function queuePatch(f: QueueFields, change: Partial<QueueFields>, says: RegExp): Patch {
  return { find: queueBytes(f), replace: queueBytes({ ...f, ...change }), says };
}

/** The fields of a queue enabled at MARKER_RING with MARKER_SIZE, nothing submitted. */
function markerQueue(): QueueFields {
  return {
    base: MARKER_RING, sizeLog2: MARKER_SIZE, enabled: 1, tail: 0, head: 0, error: 0,
    jobActive: 0, jobFlags: 0, context: 0, root: 0, cmdAddr: 0n, cmdSize: 0, startNs: 0n,
    cmdLoaded: 0, cmdOffset: 0, cmd: Buffer.alloc(SAVED_CMD_BYTES), progress: 0n,
  };
}

/** A source whose queue 1 is enabled with MARKER_SIZE at the marker base (no doorbell, so no DMA there). */
async function startWithMarkerQueue(): Promise<Ossa> {
  const q = 1;
  const src = await Ossa.start();
  try {
    const [lo, hi] = split64(MARKER_RING);
    await src.writeQ(q, R.REG_Q_BASE_LO, lo);
    await src.writeQ(q, R.REG_Q_BASE_HI, hi);
    await src.writeQ(q, R.REG_Q_SIZE, MARKER_SIZE);
    await src.writeQ(q, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
    expect(await src.readQ(q, R.REG_Q_STATUS)).toBe(R.Q_STATUS_ENABLED);
    return src;
  } catch (err) {
    await src.close();
    throw err;
  }
}

/**
 * A source whose queue 0 runs a job in context 1, a NOP and a long FILL, in
 * the middle of the FILL (one slice done; INJECT_DELAY_US, the clock not
 * stepped); returns queue 0's saved fields as the source saves them.
 */
async function startWithRunningJob(): Promise<{ src: Ossa; job: QueueFields; fill: Buffer }> {
  const src = await Ossa.start();
  try {
    await src.write(R.REG_INJECT_DELAY_US, 1000);
    const ctx = await src.context(1);
    const dst = await ctx.allocAliased(LONG_FILL);
    const q = await src.queue(0);
    const fill = cmd.fill(dst.va, LONG_FILL, 0);
    const desc = await ctx.job([cmd.nop(), fill]);
    await src.qt.clockSet(JOB_START_NS);
    await q.submit(desc);
    expect((await q.status()) & R.Q_STATUS_BUSY, 'the job is running').toBe(R.Q_STATUS_BUSY);
    const job: QueueFields = {
      base: BigInt(q.ring), sizeLog2: q.log2, enabled: 1, tail: 1, head: 0, error: 0,
      jobActive: 1, jobFlags: 0, context: 1, root: ctx.pt.root, cmdAddr: BigInt(desc.cmdAddr), cmdSize: desc.cmdSize,
      startNs: JOB_START_NS,
      // in the FILL, after the NOP, one slice of it done
      cmdLoaded: 1, cmdOffset: R.CMD_NOP_SIZE, cmd: savedCmd(fill), progress: 1024n * 1024n,
    };
    return { src, job, fill };
  } catch (err) {
    await src.close();
    throw err;
  }
}

/** The device's saved fields from FAULT_INFO to INJECT_FAULT, with INJECT_DELAY_US and INJECT_FAULT made unique. */
function injectBytes(f: { faultInfo?: number; hang?: number; fail?: number; delay?: number; fault?: bigint } = {}): Buffer {
  return beBytes([f.faultInfo ?? 0, 4], [0, 4], [f.hang ?? 0, 4], [f.fail ?? 0, 4], [f.delay ?? DELAY_US, 4], [f.fault ?? FAULT_PAGE, 8]);
}

/** A source with INJECT_DELAY_US and INJECT_FAULT at the unique values of injectBytes(). */
async function startWithInjection(): Promise<Ossa> {
  const src = await Ossa.start();
  try {
    await src.write(R.REG_INJECT_DELAY_US, DELAY_US);
    const [lo, hi] = split64(FAULT_PAGE);
    await src.write(R.REG_INJECT_FAULT_LO, lo);
    await src.write(R.REG_INJECT_FAULT_HI, hi);
    return src;
  } catch (err) {
    await src.close();
    throw err;
  }
}

/** The device's saved fields SCRATCH, TIME_HI latch, IRQ_STATUS, IRQ_MASK, CTX_TABLE. */
function irqBytes(f: { status: number; mask: number; ctxTable: bigint }): Buffer {
  return beBytes([SCRATCH, 4], [0, 4], [f.status, 4], [f.mask, 4], [f.ctxTable, 8]);
}

/** A source with SCRATCH set and one interrupt cause pending and enabled; returns its saved fields. */
async function startWithIrqState(): Promise<{ src: Ossa; regs: { status: number; mask: number; ctxTable: bigint } }> {
  const src = await Ossa.start();
  try {
    await src.write(R.REG_SCRATCH, SCRATCH);
    await src.write(R.REG_IRQ_MASK, R.IRQ_ALL);
    const regs = { status: await src.read(R.REG_IRQ_STATUS), mask: await src.read(R.REG_IRQ_MASK), ctxTable: BigInt(src.ctxTable.base) };
    return { src, regs };
  } catch (err) {
    await src.close();
    throw err;
  }
}

describe('the destination refuses an invalid device state', () => {
  test('IRQ_STATUS with a bit that is no interrupt cause', async () => {
    const { src: s, regs } = await startWithIrqState();
    await using src = s;
    await expectRefused(src, { find: irqBytes(regs), replace: irqBytes({ ...regs, status: regs.status | 0x8000_0000 }), says: refused('IRQ_STATUS') });
  });

  test('IRQ_MASK with a bit that is no interrupt cause', async () => {
    const { src: s, regs } = await startWithIrqState();
    await using src = s;
    await expectRefused(src, { find: irqBytes(regs), replace: irqBytes({ ...regs, mask: regs.mask | 0x4 }), says: refused('IRQ_MASK') });
  });

  test('a CTX_TABLE that is not 4 KiB aligned', async () => {
    const { src: s, regs } = await startWithIrqState();
    await using src = s;
    await expectRefused(src, { find: irqBytes(regs), replace: irqBytes({ ...regs, ctxTable: regs.ctxTable + 8n }), says: refused('CTX_TABLE') });
  });

  test('FAULT_INFO with reserved bits', async () => {
    await using src = await startWithInjection();
    await expectRefused(src, { find: injectBytes(), replace: injectBytes({ faultInfo: 0x400 }), says: refused('FAULT_INFO') });
  });

  test('INJECT_HANG naming a queue the device does not have', async () => {
    await using src = await startWithInjection();
    await expectRefused(src, { find: injectBytes(), replace: injectBytes({ hang: 1 << R.NUM_QUEUES }), says: refused('INJECT_HANG') });
  });

  test('INJECT_FAIL with reserved bits', async () => {
    await using src = await startWithInjection();
    await expectRefused(src, { find: injectBytes(), replace: injectBytes({ fail: 2 }), says: refused('INJECT_FAIL') });
  });

  test('INJECT_DELAY_US above 1000000', async () => {
    await using src = await startWithInjection();
    await expectRefused(src, { find: injectBytes(), replace: injectBytes({ delay: R.INJECT_DELAY_MAX_US + 1 }), says: refused('INJECT_DELAY_US') });
  });

  test('INJECT_FAULT with a VA bit above 38', async () => {
    await using src = await startWithInjection();
    await expectRefused(src, { find: injectBytes(), replace: injectBytes({ fault: FAULT_PAGE | (1n << 40n) }), says: refused('INJECT_FAULT') });
  });
});

describe('the destination refuses an invalid queue state', () => {
  test('an enabled queue whose Q_SIZE is above 12', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, queuePatch(markerQueue(), { sizeLog2: R.Q_SIZE_MAX + 1 }, refused('Q_SIZE', 1)));
  });

  test('an enabled queue whose Q_SIZE is below 1', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, queuePatch(markerQueue(), { sizeLog2: R.Q_SIZE_MIN - 1 }, refused('Q_SIZE', 1)));
  });

  test('a ring base that is not 64-byte aligned', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, queuePatch(markerQueue(), { base: MARKER_RING + 8n }, refused('Q_BASE', 1)));
  });

  test('Q_TAIL more than the ring holds past Q_HEAD', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, queuePatch(markerQueue(), { tail: 2 ** MARKER_SIZE + 1 }, refused('Q_TAIL', 1)));
  });

  test('a queue error code the device has not', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, queuePatch(markerQueue(), { enabled: 0, error: R.Q_ERR_RING_DMA + 1 }, refused('error', 1)));
  });

  test('a queue error on an enabled queue', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, queuePatch(markerQueue(), { error: R.Q_ERR_BAD_RING }, refused('error', 1)));
  });

  test('a command in progress without a job', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, queuePatch(markerQueue(), { cmdLoaded: 1, cmd: savedCmd(cmd.nop()) }, refused('job', 1)));
  });
});

describe('the destination refuses an invalid running job', () => {
  test('on a disabled queue', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, queuePatch(job, { enabled: 0 }, refused('job', 0)));
  });

  test('with descriptor flags the device does not know', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, queuePatch(job, { jobFlags: 0x2 }, refused('job', 0)));
  });

  test('whose CONTEXT is 64 or more', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, queuePatch(job, { context: R.NUM_CONTEXTS }, refused('job', 0)));
  });

  test('whose CMD_SIZE is above 1 MiB', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, queuePatch(job, { cmdSize: R.CMD_SIZE_MAX + 8 }, refused('job', 0)));
  });

  test('whose current command is past the end of its commands', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, queuePatch(job, { cmdOffset: job.cmdSize + 8 }, refused('job', 0)));
  });

  test('whose current command is not 8-byte aligned', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, queuePatch(job, { cmdOffset: job.cmdOffset + 4 }, refused('job', 0)));
  });

  test('whose command in progress is no command', async () => {
    const { src: s, job, fill } = await startWithRunningJob();
    await using src = s;
    const bad = Buffer.from(fill);
    bad.writeUInt32LE(0x77, 0);
    await expectRefused(src, queuePatch(job, { cmd: savedCmd(bad) }, refused('command', 0)));
  });

  test('whose command in progress has fields the device refuses', async () => {
    const { src: s, job, fill } = await startWithRunningJob();
    await using src = s;
    // a FILL size that is not a multiple of 4
    const bad = Buffer.from(fill);
    bad.writeBigUInt64LE(BigInt(LONG_FILL + 2), 16);
    await expectRefused(src, queuePatch(job, { cmd: savedCmd(bad) }, refused('command', 0)));
  });

  test('whose command in progress ends past the end of its commands', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    // the FILL (24 bytes) at offset 8 of 24 bytes of commands
    await expectRefused(src, queuePatch(job, { cmdSize: job.cmdSize - 8 }, refused('command', 0)));
  });

  test('whose command in progress is further on than its size', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, queuePatch(job, { progress: BigInt(LONG_FILL + 4) }, refused('command', 0)));
  });
});
