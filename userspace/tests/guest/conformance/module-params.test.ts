/**
 * Tier 2, ossa: the module's parameters. job_timeout_ms takes 1 to 600000
 * ms: 0 (which would time every job out at once) and values above the
 * maximum fail the module's load with EINVAL and a kernel message, and a
 * value in range loads the driver with that timeout. The module is
 * unloaded and loaded again here, so no file of the device may be open;
 * the file leaves the driver loaded with its defaults.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { CommandStream, Device } from '../../../src/index.js';
import { expectKernelLog, kernelLogSeq, kernelLogSince } from '../support/kernel-log.js';
import { until } from '../support/debugfs.js';
import { ossaNode, WAIT_MS } from '../support/ossa.js';

/** The driver's module file, as the image's /init loads it (/etc/ossa/modules). */
function moduleFile(): string | undefined {
  if (!existsSync('/etc/ossa/modules')) return undefined;
  const name = readFileSync('/etc/ossa/modules', 'utf8')
    .split('\n')
    .find((m) => /(^|\/)ossa\.ko$/.test(m));
  return name ? `/lib/modules/${name}` : undefined;
}

const MODULE = moduleFile();
const NO_MODULE = MODULE ? undefined : 'the driver is not a module loaded from /etc/ossa/modules (not the project image)';
const PARAM = '/sys/module/ossa/parameters/job_timeout_ms';

// The kernel's own message for a refused parameter, at error level.
expectKernelLog(/^ossa: `\d+' invalid for parameter `job_timeout_ms'/);

function run(cmd: string, args: string[]): { ok: true } | { ok: false; message: string } {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return { ok: true };
  } catch (err) {
    const e = err as { status?: number; stderr?: Buffer };
    return { ok: false, message: `exit ${e.status}: ${e.stderr?.toString().trim()}` };
  }
}

/** Unloads the driver (its node goes) and loads it with `params`. */
async function reload(params: string[]): Promise<ReturnType<typeof run>> {
  if (existsSync('/sys/module/ossa')) expect(run('rmmod', ['ossa'])).toEqual({ ok: true });
  const loaded = run('insmod', [MODULE!, ...params]);
  if (loaded.ok) expect(await until(() => existsSync(ossaNode()), 5000), 'the node is back').toBe(true);
  return loaded;
}

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
  afterAll(async () => {
    if (!existsSync(PARAM) || readFileSync(PARAM, 'utf8').trim() !== '2000') await reload([]);
  });

  test.each([['0'], ['600001']])('job_timeout_ms=%s: the load fails and the kernel says why', async (value) => {
      const seq = kernelLogSeq();
      const loaded = await reload([`job_timeout_ms=${value}`]);
      expect(loaded.ok, 'insmod refused the value').toBe(false);
      expect(existsSync('/sys/module/ossa'), 'the module is not loaded').toBe(false);
      const said = kernelLogSince(seq).map((r) => r.text);
      expect(said).toContain(`ossa: \`${value}' invalid for parameter \`job_timeout_ms'`);
  });

  test(covers(['SUBMIT'], 'good', 'job_timeout_ms=1 and 600000 load, read back, and jobs run'), async () => {
    for (const value of ['1', '600000']) {
      expect(await reload([`job_timeout_ms=${value}`]), value).toEqual({ ok: true });
      expect(readFileSync(PARAM, 'utf8').trim()).toBe(value);
      if (value !== '1') await jobsRun();
    }
  });
});
