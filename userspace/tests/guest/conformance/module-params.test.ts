/**
 * Tier 2, ossa: the module's parameters. job_timeout_ms takes 1 to 600000
 * ms: 0 (which would time every job out at once) and values above the
 * maximum fail the module's load with EINVAL and a kernel message, and a
 * value in range loads the driver with that timeout. The module is
 * unloaded and loaded again here, so no file of the device may be open;
 * the file leaves the driver loaded with its defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { CommandStream, Device } from '../../../src/index.js';
import { JOB_TIMEOUT_PARAM, NO_MODULE, reloadDriver, restoreDriverDefaults } from '../support/driver-module.js';
import { expectKernelLog, kernelLogSeq, kernelLogSince } from '../support/kernel-log.js';
import { WAIT_MS } from '../support/ossa.js';

// The kernel's own message for a refused parameter, at error level.
expectKernelLog(/^ossa: `\d+' invalid for parameter `job_timeout_ms'/);

/** A FILL job on every queue completes. */
async function jobsRun(): Promise<void> {
  using dev = Device.open();
  for (let queue = 0; queue < Number(dev.param('numQueues')); queue++) {
    using bo = dev.createBuffer(4096);
    using f = dev.submit({ queue, commands: new CommandStream().fill(bo.va, 4096, 0x5a), buffers: [bo] });
    expect(await f.settle(WAIT_MS), `queue ${queue}`).toEqual({ state: 'signaled' });
    expect(new Uint32Array(bo.map().buffer, 0, 1)[0]).toBe(0x5a);
  }
}

describe.skipIf(NO_MODULE)(`module parameters${NO_MODULE ? ` (skipped: ${NO_MODULE})` : ''}`, () => {
  afterAll(restoreDriverDefaults);

  test.each([['0'], ['600001']])('job_timeout_ms=%s: the load fails and the kernel says why', async (value) => {
      const seq = kernelLogSeq();
      const loaded = await reloadDriver([`job_timeout_ms=${value}`]);
      expect(loaded.ok, 'insmod refused the value').toBe(false);
      expect(existsSync('/sys/module/ossa'), 'the module is not loaded').toBe(false);
      const said = kernelLogSince(seq).map((r) => r.text);
      expect(said).toContain(`ossa: \`${value}' invalid for parameter \`job_timeout_ms'`);
  });

  test(covers(['SUBMIT'], 'good', 'job_timeout_ms=1 and 600000 load, read back, and jobs run'), async () => {
    for (const value of ['1', '600000']) {
      expect(await reloadDriver([`job_timeout_ms=${value}`]), value).toEqual({ ok: true });
      expect(readFileSync(JOB_TIMEOUT_PARAM, 'utf8').trim()).toBe(value);
      // GET_PARAM gives the timeout the schedulers use: whole kernel ticks
      // (1 ms is one tick, up to 10 ms at HZ=100).
      using dev = Device.open();
      const used = dev.param('jobTimeoutMs');
      expect(used).toBeGreaterThanOrEqual(BigInt(value));
      expect(used).toBeLessThan(BigInt(value) + 10n);
      if (value !== '1') await jobsRun();
    }
  });
});
