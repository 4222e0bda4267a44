/**
 * The QEMU below the guest, not the driver: the guest's memory map changes
 * hundreds of times a second while both vCPUs run (tools/as-churn turns
 * the unbound ossa function's memory decoding off and on, so QEMU unmaps
 * and maps its BARs, while a process on the other CPU keeps touching
 * memory), and QEMU must live through it and the guest go on.
 *
 * On upstream QEMU 10.0.2 (Debian's orig tarball) unpatched, this brought
 * out the SIGSEGV that CI saw at boot (a vCPU translating through a freed
 * memory map; fixed by qemu-device/qemu-fixes/physmem-dispatch-cache.patch,
 * upstream's fix).
 * With that fix, and on QEMU 10.2.2 which has it, QEMU lives but the guest
 * does not: within a minute one CPU's timer interrupts stop (RCU stalls,
 * then a guest that answers nothing). The likely cause, not yet proven:
 * the fix makes a vCPU look up the section index of an MMIO TLB entry in
 * the newest map, while the entry was filled from an older one until the
 * vCPU's TLB flush runs; adding or removing the BARs, which sit below the local APIC, renumbers the
 * sections above them, so a local APIC access in that window would go to
 * another region. The test is skipped until QEMU keeps a vCPU's TLB and
 * the map it was filled from in step.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { CommandStream, Device } from '../../../src/index.js';
import { WAIT_MS } from '../support/ossa.js';
import { bind, ossaPciAddress, unbind } from '../support/pci.js';

const TOOL = '/ossa/tools/as-churn';
/** How long the map keeps changing: unfixed, QEMU 10.0.2 lived through 20 s once and died 38 s into a longer run; fixed, the guest stalled within 60 s in each of five runs. */
const SECONDS = 60;

const address = ossaPciAddress();

afterAll(() => {
  if (!existsSync(`/sys/bus/pci/drivers/ossa/${address}`)) bind(address);
});

const SKIP = 'with upstream\'s fix for the SIGSEGV (10.0.2 patched, 10.2.2) the churn stops a guest CPU\'s timer interrupts: RCU stalls, then a hung guest (see the file\'s comment)';

describe.skip(`QEMU under a changing memory map (skipped: ${SKIP})`, () => {
  test(`the memory map changes for ${SECONDS} s while both vCPUs run: QEMU lives, the device works after`, { timeout: 300_000 }, async () => {
    unbind(address);
    const { stdout } = await promisify(execFile)(TOOL, [`/sys/bus/pci/devices/${address}/config`, String(SECONDS)], {
      timeout: (SECONDS + 120) * 1000,
    });
    console.log(`as-churn: ${stdout.trim()}`);
    const m = /^toggles (\d+) ms (\d+)$/.exec(stdout.trim());
    if (!m) throw new Error(`as-churn printed ${JSON.stringify(stdout)}`);
    expect(Number(m[1]), 'memory decoding turned off and on again').toBeGreaterThan(100);
    bind(address);
    using dev = Device.open();
    using bo = dev.createBuffer(4096);
    using fence = dev.submit({ commands: new CommandStream().fill(bo.va, 4096, 0x5a5a5a5a), buffers: [bo] });
    expect(await fence.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  });
});
