/**
 * Hot-unplug of the device from a PCI Express root port's slot (QMP
 * `device_del`, then the guest powers the slot off as Linux's pciehp does),
 * with the device idle and with a job in the middle of a command. QEMU (the
 * AddressSanitizer build under `npm test`) must remove the device without an
 * error report and go on answering QMP; nothing of the device may run after
 * it is gone, also when its injected delay (section 12) was pending, and
 * nothing it allocated may be left behind (LeakSanitizer, at QEMU's exit:
 * each test quits QEMU and waits for it to exit by itself, so that the leak
 * check runs to its end). The device may also remove itself: a job's
 * write, or its interrupt's MSI-X message, that powers its own slot off
 * ends the job there, with nothing of the device running after it.
 */
import { describe, expect, test } from 'vitest';
import { cmd } from './commands.js';
import { Ossa, type Queue } from './device.js';
import { PAGE } from './memory.js';
import { enableMmconfig, fenceFor16, mmconfigAddress, PCI_VENDOR_ID, PciFunction } from './pci.js';
import type { JsonObject } from '../../ci/lib/qmp.js';
import { DEVICE_ID, type QemuExit, QTest } from './qtest.js';
import { refFill } from '../../userspace/src/reference.js';
import { R } from './regs.js';
import { ROOT_PORT_ARGS, ROOT_PORT_ID, ROOT_PORT_SECONDARY_BUS, RootPort } from './root-port.js';

/** What encodeDescriptor() fills a descriptor's device half with. */
const DESC_FILL = 0xee;
/** A FILL this long takes many 1 MiB slices (section 11). */
const LONG_FILL = 64 * 1024 * 1024;
/** FILLs of the largest size (section 6) in one job: 8192 slices back to back, far from done when the slot is powered off. */
const LONGEST_FILL = R.DATA_SIZE_MAX;
const LONGEST_FILLS = 8;
const FILL_VALUE = 0x0f11_0f11;
/** Long enough that, without stepping the clock, the job stays between slices. */
const DELAY_US = 1000;
/** Slices (section 11: at most 1 MiB each) of the long FILL. */
const LONG_FILL_SLICES = LONG_FILL / (1024 * 1024);
/** Each step of the clock after the removal: far past any delay of the device. */
const AFTER_REMOVAL_NS = 100 * DELAY_US * 1000;
/**
 * Steps of the clock after the removal: a present device runs at most one
 * delayed slice per step (its timer fires in the step, the slice then runs
 * in a bottom half), so these are enough for it to end the long FILL.
 */
const AFTER_REMOVAL_STEPS = 2 * LONG_FILL_SLICES;
/**
 * How long QEMU may take to exit after `quit`: LeakSanitizer's check with
 * fast_unwind_on_malloc=0 (full stack traces) can take a while.
 */
const EXIT_TIMEOUT_MS = 60_000;
/** Per test: QEMU's start and exit with the sanitizers, and the test. */
const TEST_TIMEOUT_MS = 180_000;

interface Setup {
  d: Ossa;
  port: RootPort;
}

/**
 * QEMU with the device (fault-injection=on) behind a hot-plug capable root
 * port, set up like a driver would; an ASan build reports leaks at exit.
 */
async function startBehindRootPort(): Promise<Setup> {
  const qt = await QTest.start({
    deviceOptions: `fault-injection=on,bus=${ROOT_PORT_ID}`,
    beforeDevice: ROOT_PORT_ARGS,
    asanOptions: 'abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0',
  });
  let port: RootPort;
  try {
    port = await RootPort.setup(qt);
  } catch (err) {
    await qt.close();
    throw err;
  }
  const d = await Ossa.attach(qt, { pciBus: ROOT_PORT_SECONDARY_BUS });
  return { d, port };
}

/** LeakSanitizer's reports (at QEMU's exit) of memory never freed: the first line of each and the first ossa_ function in its stack, if any. */
function leakReports(exit: QemuExit): string[] {
  return exit.stderr
    .split(/\n(?=(?:Direct|Indirect) leak of )/)
    .filter((block) => /^(Direct|Indirect) leak of /.test(block))
    .map((block) => `${block.split('\n')[0] ?? ''} ${/ in (ossa_\w+) /.exec(block)?.[1] ?? ''}`.trim());
}

/**
 * Runs `body` on a device behind the root port, then quits QEMU and waits
 * for it to exit by itself: LeakSanitizer checks at the exit, and with
 * abort_on_error=1 a leak ends QEMU with SIGABRT after its report (without
 * it, with exit code 1), where a quiet exit is code 0 and nothing on stderr
 * from the sanitizers.
 */
async function withDeviceOnSlot(body: (s: Setup) => Promise<void>): Promise<void> {
  const s = await startBehindRootPort();
  try {
    await body(s);
  } catch (err) {
    await s.d.close();
    throw err;
  }
  const exit = await s.d.qt.quit(EXIT_TIMEOUT_MS);
  expect(leakReports(exit), 'memory never freed (LeakSanitizer, at QEMU\'s exit)').toEqual([]);
  expect(exit.stderr, 'a sanitizer report at QEMU\'s exit').not.toMatch(/LeakSanitizer|AddressSanitizer: |runtime error:/);
  expect({ exitCode: exit.exitCode, signal: exit.signal }, `QEMU's exit; QEMU stderr:\n${exit.stderr}`).toEqual({
    exitCode: 0,
    signal: undefined,
  });
}

/** Signs of a memory error or undefined behaviour in QEMU's stderr. */
function sanitizerReports(qt: QTest): string[] {
  return qt.stderrText.split('\n').filter((l) => /AddressSanitizer|LeakSanitizer|runtime error:|SUMMARY: /.test(l));
}

/** device_del, the guest's power-off of the slot (after `beforePowerOff`), DEVICE_DELETED. */
async function unplug({ d, port }: Setup, beforePowerOff?: () => Promise<void>): Promise<void> {
  const qmp = d.qt.qmp;
  expect(await port.hotplugCapable(), 'the slot is hot-plug capable').toBe(true);
  expect(await port.presenceDetected()).toBe(true);
  const since = qmp.events.length;
  await qmp.execute('device_del', { id: DEVICE_ID });
  // A powered slot: QEMU presses the attention button and waits for the guest.
  expect(await port.attentionButtonPressed()).toBe(true);
  expect(qmp.events.slice(since).some((e) => e.event === 'DEVICE_DELETED'), 'not removed before the guest powers the slot off').toBe(false);
  await beforePowerOff?.();
  await port.powerOff();
  const ev = await qmp.waitEvent('DEVICE_DELETED', since).catch((err: unknown) => {
    throw new Error(`${String(err)}; QEMU stderr:\n${d.qt.stderrText}`);
  });
  expect((ev.data as JsonObject | undefined)?.device).toBe(DEVICE_ID);
}

/** The device is gone and QEMU is alive, answers QMP and qtest, and reported nothing. */
async function expectGoneAndHealthy({ d, port }: Setup): Promise<void> {
  const qt = d.qt;
  const peripherals = await qt.qmp.qomList('/machine/peripheral');
  expect(peripherals.map((p) => p.name)).not.toContain(DEVICE_ID);
  expect(await qt.qmp.execute('query-status')).toMatchObject({ status: 'running' });
  expect(await port.presenceDetected()).toBe(false);
  // nothing answers at the device's place on the bus behind the port
  expect(await new PciFunction(qt, d.pci.devfn, ROOT_PORT_SECONDARY_BUS).read32(PCI_VENDOR_ID)).toBe(0xffff_ffff);
  expect(qt.alive, `QEMU died:\n${qt.stderrText}`).toBe(true);
  expect(sanitizerReports(qt)).toEqual([]);
}

interface Outputs {
  slot: Buffer;
  mailbox: Buffer;
}

/**
 * After the removal: zeroes the job's destination page (every page of its
 * VA range is that one), and reads what else the job would write, its
 * descriptor slot (the write-back at completion) and the MSI-X mailbox (its
 * completion's message, FLAGS.IRQ), to compare after `afterRemoval`.
 */
async function zeroDestination(d: Ossa, queue: Queue, dstPa: number): Promise<Outputs> {
  await d.qt.memset(dstPa, PAGE, 0);
  const mailbox = await d.qt.read(d.mailbox, 4 * d.msix.tableSize);
  expect(mailbox.equals(Buffer.alloc(mailbox.length)), 'no message before the removal').toBe(true);
  return { slot: await d.qt.read(queue.slotAddr(0), R.DESC_SIZE), mailbox };
}

/** Whether the device half of the queue's first slot is as the test wrote it (encodeDescriptor()'s fill). */
async function unwritten(d: Ossa, queue: Queue): Promise<boolean> {
  return (await d.qt.read(queue.slotAddr(0) + R.DESC_RESULT, R.DESC_SIZE - R.DESC_RESULT)).every((b) => b === DESC_FILL);
}

/** Steps the virtual clock far past any delay, many times: a timer or bottom half of the removed device would run now. */
async function afterRemoval(d: Ossa): Promise<void> {
  for (let i = 0; i < AFTER_REMOVAL_STEPS; i += 1) await d.qt.clockStep(AFTER_REMOVAL_NS);
}

/** Nothing the job would write changed since `zeroDestination`. */
async function expectNothingWritten(d: Ossa, queue: Queue, dstPa: number, before: Outputs): Promise<void> {
  expect((await d.qt.read(dstPa, PAGE)).equals(Buffer.alloc(PAGE)), 'the destination stays zero').toBe(true);
  expect(await d.qt.read(queue.slotAddr(0), R.DESC_SIZE), 'the descriptor slot (no write-back)').toEqual(before.slot);
  expect(await d.qt.read(d.mailbox, before.mailbox.length), 'the MSI-X mailbox (no message)').toEqual(before.mailbox);
}

describe('hot-unplug from a PCI Express root port (device_del)', () => {
  test('an idle device is removed; QEMU goes on', async () => {
    await withDeviceOnSlot(async (s) => {
      // it worked where it was
      const ctx = await s.d.context(1);
      const out = await ctx.alloc(8);
      expect((await s.d.run(ctx, [cmd.fence(out, 0x1d1en)])).status).toBe(R.JOB_OK);
      await unplug(s);
      await expectGoneAndHealthy(s);
    });
  }, TEST_TIMEOUT_MS);

  test('a device in the middle of a long FILL, with its injected delay pending, is removed; the delay expiring later runs nothing', async () => {
    await withDeviceOnSlot(async (s) => {
      const { d } = s;
      await d.write(R.REG_INJECT_DELAY_US, DELAY_US);
      await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
      const ctx = await d.context(1);
      // every page of the destination is the same physical page: 64 MiB of VA cheaply
      const dst = await ctx.allocAliased(LONG_FILL);
      const queue = await d.queue(0);
      await queue.submit(await ctx.job(cmd.fill(dst.va, LONG_FILL, FILL_VALUE), { flags: R.DESC_FLAG_IRQ }));
      // the first slice ran at once: the page is filled, the job is not done
      expect((await d.qt.read(dst.pa, PAGE)).equals(refFill(FILL_VALUE, PAGE)), 'the first slice ran').toBe(true);
      expect(await queue.head()).toBe(0);
      expect((await queue.status()) & R.Q_STATUS_BUSY).toBe(R.Q_STATUS_BUSY);
      await unplug(s);
      const before = await zeroDestination(d, queue, dst.pa);
      await afterRemoval(d);
      await expectGoneAndHealthy(s);
      await expectNothingWritten(d, queue, dst.pa, before);
    });
  }, TEST_TIMEOUT_MS);

  test.each(['a FENCE', 'the MSI-X message of a FENCE\'s interrupt'] as const)(
    'it powers its own slot off mid-job (%s at the root port\'s Slot Control, through MMCONFIG): removed at once, it runs nothing after, and QEMU reports no memory error',
    async (via) => {
      await withDeviceOnSlot(async (s) => {
        const { d, port } = s;
        await enableMmconfig(d.qt);
        await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
        const { offset, value } = await port.powerOffWrite();
        const slotControl = mmconfigAddress(port.f, offset);
        const ctx = await d.context(1);
        const dst = await ctx.allocAliased(LONG_FILL);
        let powerOff: Buffer;
        if (via === 'a FENCE') {
          const off = fenceFor16(slotControl, value);
          powerOff = cmd.fence(await ctx.mapBus(off.addr), off.value);
        } else {
          // Queue 0's job interrupts have a vector of their own: its message (a dword) powers the slot off.
          await d.msix.program(R.MSIX_VECTOR_QUEUE(0), slotControl, value);
          const flag = await ctx.alloc(8);
          powerOff = cmd.fence(flag, 1n, R.CMD_FENCE_FLAG_IRQ);
        }
        const queue = await d.queue(0);
        const since = d.qt.qmp.events.length;
        // The FILL and the FENCE with an interrupt come after the power-off: they must not run.
        await queue.submit(await ctx.job([powerOff, cmd.fill(dst.va, LONG_FILL, FILL_VALUE), cmd.fence(dst.va, 1n, R.CMD_FENCE_FLAG_IRQ)], { flags: R.DESC_FLAG_IRQ }));
        const ev = await d.qt.qmp.waitEvent('DEVICE_DELETED', since).catch((err: unknown) => {
          throw new Error(`${String(err)}; QEMU stderr:\n${d.qt.stderrText}`);
        });
        expect((ev.data as JsonObject | undefined)?.device).toBe(DEVICE_ID);
        expect((await d.qt.read(dst.pa, PAGE)).equals(Buffer.alloc(PAGE)), 'the FILL after the power-off did not run').toBe(true);
        expect(await unwritten(d, queue), 'the job\'s slot: no write-back').toBe(true);
        const before = await zeroDestination(d, queue, dst.pa);
        await afterRemoval(d);
        await expectGoneAndHealthy(s);
        await expectNothingWritten(d, queue, dst.pa, before);
      });
    },
    TEST_TIMEOUT_MS,
  );

  test('a device running slices back to back (no delay) is removed mid-job; its next slice never runs', async () => {
    await withDeviceOnSlot(async (s) => {
      const { d } = s;
      await d.write(R.REG_IRQ_MASK, R.IRQ_ALL);
      const ctx = await d.context(1);
      const dst = await ctx.allocAliased(LONGEST_FILL);
      const queue = await d.queue(0);
      const fills = Array.from({ length: LONGEST_FILLS }, () => cmd.fill(dst.va, LONGEST_FILL, FILL_VALUE));
      await queue.submit(await ctx.job(fills, { flags: R.DESC_FLAG_IRQ }));
      await unplug(s, async () => {
        expect(await queue.head(), 'the job is still running when the slot is powered off').toBe(0);
        expect((await queue.status()) & R.Q_STATUS_BUSY).toBe(R.Q_STATUS_BUSY);
      });
      expect(await d.qt.readl(dst.pa), 'slices ran').toBe(FILL_VALUE);
      const before = await zeroDestination(d, queue, dst.pa);
      await afterRemoval(d);
      await expectGoneAndHealthy(s);
      await expectNothingWritten(d, queue, dst.pa, before);
    });
  }, TEST_TIMEOUT_MS);
});
