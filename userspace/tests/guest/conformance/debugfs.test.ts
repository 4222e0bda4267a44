/**
 * Tier 2, ossa: the driver's debugfs files (kernel-driver/ossa_debugfs.c),
 * which the suite itself relies on for leak checks and fault injection:
 * contexts lists each file's context and marks a banned one, the
 * injection files read back what was written and refuse what does not
 * fit their register, reset refuses anything but a boolean, and
 * device_time brackets reads of the device's clock with the kernel's
 * CLOCK_MONOTONIC.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { CommandStream, Device } from '../../../src/index.js';
import { clientId, contextOf, debugfsDir, driverStats, inject, until } from '../support/debugfs.js';
import { expectKernelLog } from '../support/kernel-log.js';
import { UNMAPPED_VA, WAIT_MS } from '../support/ossa.js';

const read = (name: string): string => readFileSync(join(debugfsDir(), name), 'utf8');

/** The errno code of a write to a debugfs file, or 'ok'. */
function writeErrno(name: string, text: string): string {
  try {
    writeFileSync(join(debugfsDir(), name), text);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
  return 'ok';
}

expectKernelLog(/device reset/);

afterEach(() => {
  inject('inject_delay_us', 0);
});

describe('debugfs', () => {
  test('contexts: one line per open file\'s context, with its DRM client id (fdinfo\'s drm-client-id); a context whose job faulted is marked banned', async () => {
    const lines = (): string[] => read('contexts').trim().split('\n');
    using a = Device.open();
    const ida = contextOf(a);
    const ca = clientId(a);
    let idb: number;
    {
      using b = Device.open();
      idb = contextOf(b);
      const cb = clientId(b);
      expect(ca).not.toBe(cb);
      expect(ida).not.toBe(idb);
      expect(lines()).toEqual(expect.arrayContaining([`context ${ida} client ${ca}`, `context ${idb} client ${cb}`]));
      using bo = b.createBuffer(4096);
      using fault = b.submit({ commands: new CommandStream().fill(UNMAPPED_VA, 4096, 1), buffers: [bo] });
      expect(await fault.settle(WAIT_MS)).toEqual({ state: 'error', errno: 14 });
      expect(lines()).toEqual(expect.arrayContaining([`context ${ida} client ${ca}`, `context ${idb} client ${cb} banned`]));
    }
    // The banned context goes with its file and its jobs (whose release
    // may trail the close a little).
    expect(await until(() => !lines().some((l) => l.startsWith(`context ${idb} `))), 'banned context gone').toBe(true);
    expect(lines()).toContain(`context ${ida} client ${ca}`);
  });

  test('inject_*: a value reads back as written; one above 32 bits is EINVAL and changes nothing', () => {
    writeFileSync(join(debugfsDir(), 'inject_delay_us'), '1234');
    expect(read('inject_delay_us')).toBe('0x4d2\n');
    expect(writeErrno('inject_delay_us', String(2 ** 32))).toBe('EINVAL');
    expect(read('inject_delay_us')).toBe('0x4d2\n');
    expect(read('inject_hang')).toBe('0x0\n');
    expect(read('inject_fail')).toBe('0x0\n');
  });

  test('reset: 0 does not reset, a word that is not a boolean is EINVAL, 1 resets once', () => {
    const before = driverStats().resets;
    expect(writeErrno('reset', '0')).toBe('ok');
    expect(writeErrno('reset', 'maybe')).toBe('EINVAL');
    expect(driverStats().resets).toBe(before);
    expect(writeErrno('reset', '1')).toBe('ok');
    expect(driverStats().resets).toBe(before + 1);
  });

  test('device_time: eight reads of the device clock, each between two CLOCK_MONOTONIC reads of the kernel, inside the reader\'s own', () => {
    const from = process.hrtime.bigint();
    const text = read('device_time');
    const to = process.hrtime.bigint();
    const samples = text
      .trim()
      .split('\n')
      .map((l) => {
        expect(l).toMatch(/^\d+ \d+ \d+$/);
        const [before, device, after] = l.split(' ').map(BigInt) as [bigint, bigint, bigint];
        return { before, device, after };
      });
    expect(samples).toHaveLength(8);
    let last = { before: from, device: 0n, after: from };
    for (const s of samples) {
      expect(s.before).toBeGreaterThanOrEqual(last.after);
      expect(s.after).toBeGreaterThanOrEqual(s.before);
      expect(s.device).toBeGreaterThan(last.device);
      last = s;
    }
    expect(last.after).toBeLessThanOrEqual(to);
  });
});
