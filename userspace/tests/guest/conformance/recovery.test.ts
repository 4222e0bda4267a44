/**
 * Tier 2, ossa: recovery from a hung queue (docs/uapi.md, "Recovery").
 * Other processes run counter jobs on both queues while one file's job
 * hangs each queue in turn (tools/recovery): the hung job fails with
 * TIMEOUT and its file is banned, and every other job runs exactly once:
 * a job lost to the recovery, or run again after it, shows in the
 * counters. Afterwards every object of these processes is gone (debugfs
 * stats) and every hardware context can be opened again.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { Device } from '../../../src/index.js';
import { contextOf, driverStats, liveObjects, until } from '../support/debugfs.js';
import { expectKernelLog } from '../support/kernel-log.js';
import { ossaNode, WAIT_MS } from '../support/ossa.js';
import { LONG_TOOL_TEST_TIMEOUT_MS, LONG_TOOL_TIMEOUT_MS, runTool } from '../support/tool.js';

expectKernelLog(/ossa-q\d recovered: a job timed out|device reset/);

const TOOL = '/ossa/tools/recovery';
/** Processes whose jobs must not be touched. */
const INNOCENT = 3;
/** Elements of each counter: 4 MiB of data per job, several slices, so a job can be stopped halfway. */
const COUNT = 1 << 18;
/** Hangs: queue 0, then queue 1. */
const ROUNDS = 2;

/** The device's hardware contexts (docs/hardware.md, 7.1). */
const CONTEXTS = 64;
let before: ReturnType<typeof liveObjects>;
beforeAll(() => {
  before = liveObjects();
});

describe('recovery', () => {
  test(
    covers(['SUBMIT', 'BO_WAIT', 'FMA_F32', 'FILL'], 'fault', `a job hangs each queue in turn while ${INNOCENT} other processes run counter jobs on both: it alone fails (TIMEOUT), every other job runs once`),
    { timeout: LONG_TOOL_TEST_TIMEOUT_MS },
    async () => {
      const { stdout } = await runTool(TOOL, [ossaNode(), String(INNOCENT), String(COUNT), String(ROUNDS)], { timeoutMs: LONG_TOOL_TIMEOUT_MS });
      console.log(`recovery: ${stdout.trim().replaceAll('\n', '; ')}`);
      const lines = stdout.trim().split('\n');
      expect(lines.filter((l) => /^round \d+ queue \d+: timeout after \d+ ms$/.test(l))).toHaveLength(ROUNDS);
      expect(lines.filter((l) => /^innocent \d+: queue 0 \d+ jobs, queue 1 \d+ jobs$/.test(l))).toHaveLength(INNOCENT);
    },
  );

  test(`lifetime: after it, every object of those processes is freed (debugfs counts as before) and all ${CONTEXTS} hardware contexts open again`, async () => {
    expect(await until(() => JSON.stringify(liveObjects()) === JSON.stringify(before), WAIT_MS), `objects alive: ${JSON.stringify(liveObjects())}`).toBe(true);
    const files: Device[] = [];
    try {
      for (let i = 0; i < CONTEXTS - before.contexts; i++) files.push(Device.open(ossaNode()));
      expect(new Set(files.map((f) => contextOf(f))).size, 'distinct contexts').toBe(files.length);
      expect(driverStats().contexts).toBe(CONTEXTS);
    } finally {
      for (const f of files) f.close();
    }
  });
});
