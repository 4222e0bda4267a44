/**
 * The same device driven from userspace, beside the kernel driver
 * (docs/userspace-drivers.md): the function is taken from ossa and given
 * to vfio-pci (on a lane with a vIOMMU) or to uio_pci_generic (without
 * one), and the process programs the device itself
 * (userspace/src/userspace-driver/).
 *
 * The isolation test is the argument in code: another process plants a
 * random canary in a page of its own, the test finds that page's physical
 * address (/proc/PID/pagemap) and points the device at it. Behind an IOMMU
 * the access faults and the canary never arrives; without one the device
 * reads it. Which of the two is expected comes from the lane
 * (ossa.iommu= on the kernel's command line), not from what the machine
 * turns out to have: on a lane meant to have a vIOMMU that has none, the
 * driver falls back to UIO and the test fails with the canary in hand.
 */
import { execFile, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CommandStream, Device } from '../../src/index.js';
import { refCrc32c } from '../../src/reference.js';
import { boundDriver, iommuGroup, OssaUserDriver, ossaFunctions, physicalAddress } from '../../src/userspace-driver/index.js';
import { giveBackToKernel, handToUserspace, laneIommu, missingModules, moduleList } from './support/userspace-driver.js';

const run = promisify(execFile);
const expectIsolation = laneIommu !== 'none';
const missing = missingModules(expectIsolation ? 'vfio' : 'uio');

/** A child process with a random page of its own; its address and contents. */
async function canaryProcess(): Promise<{ pid: number; vaddr: bigint; canary: Buffer; stop: () => void }> {
  const script = `
    const { native } = await import(process.env.OSSA_NATIVE_TS);
    const { randomFillSync } = await import('node:crypto');
    const buf = Buffer.alloc(3 * 4096);
    const base = native().address(buf);
    const off = Number((4096n - (base % 4096n)) % 4096n);
    const page = buf.subarray(off, off + 4096);
    randomFillSync(page);
    console.log(JSON.stringify({ vaddr: String(base + BigInt(off)), canary: page.toString('hex') }));
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, OSSA_NATIVE_TS: new URL('../../src/native.js', import.meta.url).href },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`canary process exited ${code} before it reported`)));
  });
  const r = JSON.parse(line) as { vaddr: string; canary: string };
  return { pid: child.pid as number, vaddr: BigInt(r.vaddr), canary: Buffer.from(r.canary, 'hex'), stop: () => child.stdin.end() };
}

const skipReason = missing.length ? `the guest kernel has no ${missing.join(', ')} module (${moduleList(expectIsolation ? 'vfio' : 'uio')})` : undefined;

describe.skipIf(skipReason)(`the device driven from userspace (${expectIsolation ? `VFIO behind ${laneIommu}-iommu` : 'UIO, no IOMMU'})`, () => {
  const functions = ossaFunctions();
  const bdf = functions[0] ?? '';
  let driver: OssaUserDriver;

  beforeAll(async () => {
    expect(functions, 'ossa functions on the PCI bus').toHaveLength(1);
    // The machine decides the model, not the lane: the tests then say
    // whether it is the one the lane expected.
    driver = OssaUserDriver.open({ bdf, via: await handToUserspace(bdf) });
  }, 60_000);

  afterAll(async () => {
    try {
      driver?.close();
    } finally {
      await giveBackToKernel(bdf);
    }
    using dev = Device.open();
    expect(dev.version().name).toBe('ossa');
  }, 60_000);

  test(`the lane's model: ${expectIsolation ? 'VFIO, isolated by the IOMMU' : 'UIO, not isolated'}`, () => {
    expect({ via: driver.via, isolated: driver.isolated, bound: boundDriver(bdf) }).toEqual(
      expectIsolation ? { via: 'vfio', isolated: true, bound: 'vfio-pci' } : { via: 'uio', isolated: false, bound: 'uio_pci_generic' },
    );
  });

  test('runs COPY, FILL and CRC32C jobs that the process wrote itself', async () => {
    const size = 64 << 10;
    const src = driver.buffer(size);
    const dst = driver.buffer(size);
    const filled = driver.buffer(size);
    const crc = driver.buffer(8);
    randomFillSync(src.bytes);
    const r = await driver.run(
      new CommandStream().copy(src.va, dst.va, size).fill(filled.va, size, 0xa5a55a5a).crc32c(src.va, size, crc.va),
    );
    expect(r).toMatchObject({ statusName: 'OK', errorOffset: 0 });
    expect(r.endNs).toBeGreaterThanOrEqual(r.startNs);
    expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true);
    expect(new Uint32Array(filled.bytes.buffer, filled.bytes.byteOffset, size / 4).every((w) => w === 0xa5a55a5a)).toBe(true);
    expect(new DataView(crc.bytes.buffer, crc.bytes.byteOffset).getUint32(0, true)).toBe(refCrc32c(src.bytes));
    // A job the device refuses comes back as the datasheet says, and the next one runs.
    const bad = await driver.run(new CommandStream().copy(src.va, src.va + 8n, 64));
    expect(bad).toMatchObject({ statusName: 'INVALID_COMMAND', errorOffset: 0 });
    expect(await driver.run(new CommandStream().nop())).toMatchObject({ statusName: 'OK' });
  });

  test(`a job's end is its one interrupt, counted (${expectIsolation ? 'MSI-X through VFIO' : 'INTx through UIO'})`, async () => {
    const size = 4 << 20;
    const out = driver.buffer(size);
    const job = new CommandStream();
    // 16 MiB of work in 1 MiB slices; the driver knows its end only from
    // an interrupt (a lost one is ETIMEDOUT), and counts what it drains.
    for (const value of [1, 2, 3, 0x5a5a5a5a]) job.fill(out.va, size, value);
    const before = driver.interrupts;
    const r = await driver.run(job);
    expect(r).toMatchObject({ statusName: 'OK', interrupts: 1 });
    expect(driver.interrupts).toBe(before + 1);
    expect(new Uint32Array(out.bytes.buffer, out.bytes.byteOffset, size / 4).every((w) => w === 0x5a5a5a5a)).toBe(true);
  });

  test(
    expectIsolation
      ? "a page of another process, by its physical address, faults behind the IOMMU: the canary never arrives"
      : 'a page of another process, by its physical address, is read without an IOMMU: the canary arrives',
    async () => {
      const other = await canaryProcess();
      try {
        const phys = physicalAddress(other.pid, other.vaddr);
        expect(driver.holdsBusAddress(phys)).toBe(false);
        const dst = driver.buffer(4096);
        driver.mapPage(driver.spareVa, phys, false);
        const r = await driver.run(new CommandStream().copy(driver.spareVa, dst.va, 4096));
        const got = Buffer.from(dst.bytes);
        const leaked = got.equals(other.canary);
        if (expectIsolation) {
          expect({ leaked, status: r.statusName, fault: r.fault }).toEqual({
            leaked: false,
            status: 'MMU_FAULT',
            fault: { va: driver.spareVa, cause: 'BUS_ERROR', write: false },
          });
          expect(got.every((b) => b === 0)).toBe(true);
        } else {
          expect({ leaked, status: r.statusName }).toEqual({ leaked: true, status: 'OK' });
        }
      } finally {
        other.stop();
      }
    },
  );

  test(
    expectIsolation
      ? 'one process owns the device: a second process cannot open its VFIO group, and no kernel node serves it meanwhile'
      : 'UIO arbitrates nothing: a second process opens the same device while the first drives it',
    async () => {
      const group = iommuGroup(bdf);
      const path = expectIsolation ? `/dev/vfio/${group}` : `/dev/${readdirSync(`/sys/bus/pci/devices/${bdf}/uio`)[0]}`;
      const { stdout } = await run(process.execPath, [
        '-e',
        `try { require('node:fs').closeSync(require('node:fs').openSync(${JSON.stringify(path)}, 'r+')); console.log('opened'); } catch (e) { console.log(e.code); }`,
      ]);
      expect(stdout.trim()).toBe(expectIsolation ? 'EBUSY' : 'opened');
      expect(() => Device.open()).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    },
  );
});
