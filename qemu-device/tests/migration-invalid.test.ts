/**
 * A migration stream is guest-influenced input to the destination (design
 * brief: no guest value can crash QEMU, migration included): the device
 * refuses to load a state that no register sequence can produce and that its
 * code relies on never seeing. Each test saves a real stream, changes one
 * field of the device's state in it (found by values around it the test
 * made unique) and checks that the destination fails the load cleanly and
 * stays up, and that the same stream unchanged loads.
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
const LONG_FILL = 16 * 1024 * 1024;
/** Device time when the running job below starts (clock_set before it): a value unique in the stream. */
const JOB_START_NS = 0x1_2345_6789n;

interface Patch {
  find: Buffer;
  replace: Buffer;
  /** What QEMU says on stderr about the part of the device's state that failed. */
  says: RegExp;
}

/** QEMU's message for a device section whose load (post_load) failed. */
const DEVICE_SECTION_FAILED = /error while loading state for instance 0x0 of device '[^']*\/ossa'/;
/** ... and for the queues' part of it. */
const QUEUES_FAILED = /Failed to load ossa:queues/;

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

/**
 * A source whose queue 1 is enabled with MARKER_SIZE at the marker base (no
 * doorbell, so no DMA there); the queue's saved fields: base (u64),
 * size_log2 (u32), enabled (bool).
 */
async function startWithMarkerQueue(): Promise<Ossa> {
  const src = await Ossa.start();
  try {
    const [lo, hi] = split64(MARKER_RING);
    await src.writeQ(1, R.REG_Q_BASE_LO, lo);
    await src.writeQ(1, R.REG_Q_BASE_HI, hi);
    await src.writeQ(1, R.REG_Q_SIZE, MARKER_SIZE);
    await src.writeQ(1, R.REG_Q_CONTROL, R.Q_CONTROL_ENABLE);
    expect(await src.readQ(1, R.REG_Q_STATUS)).toBe(R.Q_STATUS_ENABLED);
    return src;
  } catch (err) {
    await src.close();
    throw err;
  }
}

/** A queue's saved job fields from context to cmd_offset, as the source saves them or patched. */
interface JobFields {
  context: number;
  root: number;
  cmdAddr: bigint;
  cmdSize: number;
  startNs: bigint;
  cmdLoaded: number;
  cmdOffset: number;
}

/** The fields' bytes in the stream: job_context (u32), job_root, job_cmd_addr (u64), job_cmd_size (u32), job_start_ns (u64), cmd_loaded (bool), cmd_offset (u32). */
function jobBytes(f: JobFields): Buffer {
  return beBytes([f.context, 4], [f.root, 8], [f.cmdAddr, 8], [f.cmdSize, 4], [f.startNs, 8], [f.cmdLoaded, 1], [f.cmdOffset, 4]);
}

/**
 * A source whose queue 0 runs a job in context 1, a NOP and a long FILL, in
 * the middle of the FILL (INJECT_DELAY_US, the clock not stepped); returns
 * the job's saved fields as the source saves them.
 */
async function startWithRunningJob(): Promise<{ src: Ossa; job: JobFields }> {
  const src = await Ossa.start();
  try {
    await src.write(R.REG_INJECT_DELAY_US, 1000);
    const ctx = await src.context(1);
    const dst = await ctx.allocAliased(LONG_FILL);
    const q = await src.queue(0);
    const desc = await ctx.job([cmd.nop(), cmd.fill(dst.va, LONG_FILL, 0)]);
    await src.qt.clockSet(JOB_START_NS);
    await q.submit(desc);
    expect((await q.status()) & R.Q_STATUS_BUSY, 'the job is running').toBe(R.Q_STATUS_BUSY);
    const job = {
      context: 1,
      root: ctx.pt.root,
      cmdAddr: BigInt(desc.cmdAddr),
      cmdSize: desc.cmdSize,
      startNs: JOB_START_NS,
      // in the FILL, after the NOP
      cmdLoaded: 1,
      cmdOffset: R.CMD_NOP_SIZE,
    };
    return { src, job };
  } catch (err) {
    await src.close();
    throw err;
  }
}

describe('the destination refuses an invalid device state', () => {
  test('an enabled queue whose Q_SIZE is above 12', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, {
      find: beBytes([MARKER_RING, 8], [MARKER_SIZE, 4], [1, 1]),
      replace: beBytes([MARKER_RING, 8], [R.Q_SIZE_MAX + 1, 4], [1, 1]),
      says: QUEUES_FAILED,
    });
  });

  test('an enabled queue whose Q_SIZE is below 1', async () => {
    await using src = await startWithMarkerQueue();
    await expectRefused(src, {
      find: beBytes([MARKER_RING, 8], [MARKER_SIZE, 4], [1, 1]),
      replace: beBytes([MARKER_RING, 8], [R.Q_SIZE_MIN - 1, 4], [1, 1]),
      says: QUEUES_FAILED,
    });
  });

  test('a running job whose CONTEXT is 64 or more', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, { find: jobBytes(job), replace: jobBytes({ ...job, context: R.NUM_CONTEXTS }), says: QUEUES_FAILED });
  });

  test('a running job whose CMD_SIZE is above 1 MiB', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, { find: jobBytes(job), replace: jobBytes({ ...job, cmdSize: R.CMD_SIZE_MAX + 8 }), says: QUEUES_FAILED });
  });

  test('a running job whose current command is past the end of its commands', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, { find: jobBytes(job), replace: jobBytes({ ...job, cmdOffset: job.cmdSize + 8 }), says: QUEUES_FAILED });
  });

  test('a running job whose current command is not 8-byte aligned', async () => {
    const { src: s, job } = await startWithRunningJob();
    await using src = s;
    await expectRefused(src, { find: jobBytes(job), replace: jobBytes({ ...job, cmdOffset: job.cmdOffset + 4 }), says: QUEUES_FAILED });
  });

  test('INJECT_DELAY_US above 1000000', async () => {
    await using src = await Ossa.start();
    await src.write(R.REG_INJECT_DELAY_US, DELAY_US);
    const [lo, hi] = split64(FAULT_PAGE);
    await src.write(R.REG_INJECT_FAULT_LO, lo);
    await src.write(R.REG_INJECT_FAULT_HI, hi);
    // the device's saved fields: inject_delay_us (u32), inject_fault (u64)
    await expectRefused(src, {
      find: beBytes([DELAY_US, 4], [FAULT_PAGE, 8]),
      replace: beBytes([R.INJECT_DELAY_MAX_US + 1, 4], [FAULT_PAGE, 8]),
      says: DEVICE_SECTION_FAILED,
    });
  });
});
