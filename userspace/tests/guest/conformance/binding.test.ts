/**
 * Tier 2, ossa: the PCI binding. Unbinding an idle device removes its node
 * and debugfs folder and binding it again gives a working device; a probe
 * without MSI/MSI-X (as on a machine or bus that lacks them) takes one
 * INTx interrupt for every cause, and jobs, completions and MMU faults
 * still work through it. Every test leaves the device bound with MSI-X.
 * (Unbinding while files are open or jobs run is issue 15's.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { CommandStream, Device } from '../../../src/index.js';
import { kernelLogSeq, kernelLogSince } from '../support/kernel-log.js';
import { errnoOf, ossaNode, UNMAPPED_VA, WAIT_MS } from '../support/ossa.js';
import { allowMsi, bind, msiAllowed, ossaPciAddress, unbind } from '../support/pci.js';

const address = ossaPciAddress();
/** Whether the kernel lets devices use MSI at all (not booted with pci=nomsi). */
const MSI = !/(^|\s)pci=nomsi(\s|$)/.test(readFileSync('/proc/cmdline', 'utf8'));
/** The vectors a probe with MSI allowed takes: the three MSI-X vectors, or INTx under pci=nomsi. */
const MSI_VECTORS = MSI ? 3 : 1;
/** The interrupt vectors the driver's probe reported since `seq` ("N interrupt vector(s)"). */
function vectorsSince(seq: number): number[] {
  return kernelLogSince(seq)
    .map((r) => /\bossa interface \d+\.\d+, (\d+) interrupt vector/.exec(r.text)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
}

/** A FILL on the queue, checked through a mapping of the buffer. */
async function fillWorks(dev: Device, queue: number, value: number): Promise<void> {
  using bo = dev.createBuffer(1 << 16);
  using f = dev.submit({ queue, commands: new CommandStream().fill(bo.va, 1 << 16, value), buffers: [bo] });
  expect(await f.settle(WAIT_MS)).toEqual({ state: 'signaled' });
  const words = new Uint32Array(bo.map().buffer, 0, (1 << 16) / 4);
  expect(words.every((w) => w === value)).toBe(true);
}

afterEach(() => {
  // Whatever a test did, the next one finds the device bound with MSI-X.
  const bound = existsSync(`/sys/bus/pci/drivers/ossa/${address}`);
  if (bound && msiAllowed(address)) return;
  if (bound) unbind(address);
  allowMsi(address, true);
  const seq = kernelLogSeq();
  bind(address);
  expect(vectorsSince(seq)[0], 'vectors after putting MSI back').toBe(MSI_VECTORS);
});

describe('PCI binding', () => {
  test(covers(['BO_CREATE', 'SUBMIT'], 'lifetime', 'unbinding an idle device removes its node and debugfs folder; bound again, it runs jobs'), async () => {
    const node = ossaNode();
    unbind(address);
    expect(existsSync(node), `${node} after unbind`).toBe(false);
    expect(existsSync(`/sys/kernel/debug/accel/${address}`), 'debugfs folder after unbind').toBe(false);
    expect(errnoOf(() => Device.open())).toBe('ENODEV');
    bind(address);
    using dev = Device.open();
    await fillWorks(dev, 0, 0x1234_5678);
  });

  test(covers(['BO_CREATE', 'SUBMIT', 'GET_PARAM'], 'good', 'without MSI the driver takes one INTx: jobs on every queue complete and an MMU fault bans the context'), async () => {
    unbind(address);
    allowMsi(address, false);
    const seq = kernelLogSeq();
    bind(address);
    expect(vectorsSince(seq), 'vectors of the INTx probe').toEqual([1]);
    {
      using dev = Device.open();
      const queues = Number(dev.param('numQueues'));
      for (let q = 0; q < queues; q++) await fillWorks(dev, q, 0xa0 + q);
      using bo = dev.createBuffer(4096);
      using fault = dev.submit({ commands: new CommandStream().fill(UNMAPPED_VA, 4096, 1), buffers: [bo] });
      expect(await fault.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
      expect(errnoOf(() => dev.submit({ commands: new CommandStream().nop(), buffers: [bo] }))).toBe('ECANCELED');
      using other = Device.open();
      await fillWorks(other, 0, 0x55);
    }
    unbind(address);
    allowMsi(address, true);
    const again = kernelLogSeq();
    bind(address);
    const [vectors] = vectorsSince(again);
    expect(vectors, 'vectors once MSI is allowed again').toBe(MSI_VECTORS);
  });
});
