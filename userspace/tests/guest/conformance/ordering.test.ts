/**
 * Tier 2, ossa: the order of jobs of one file. Several threads submit on
 * one open file at once (tools/submit-race); the scheduler fences of the
 * file's entity must signal in the order of their sequence numbers, which
 * is the order in which the driver armed them. A job queued in another
 * order than it was armed breaks what drm_sched and dma_resv assume (a
 * later fence of an entity stands for the earlier ones), and with it
 * implicit sync and BO_WAIT (docs/uapi.md, SUBMIT).
 */
import { describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { fenceTrace } from '../support/fence-trace.js';
import { DEBUG_KERNEL, ossaNode } from '../support/ossa.js';
import { LONG_TOOL_TEST_TIMEOUT_MS, LONG_TOOL_TIMEOUT_MS, runTool } from '../support/tool.js';

const RACE = '/ossa/tools/submit-race';
const THREADS = 4;
/** SUBMITs per thread: fewer on the debug kernel, where each takes several times longer. */
const SUBMITS = DEBUG_KERNEL ? 60 : 300;
/** Many BOs per job keep each SUBMIT busy between arming its job and queueing it. */
const BOS = 128;

/** Per fence context of the scheduler: its signalled seqnos that came after a higher one. */
function outOfOrder(trace: string): string[] {
  const last = new Map<string, number>();
  const out: string[] = [];
  for (const m of trace.matchAll(/dma_fence_signaled: driver=drm_sched timeline=(\S+) context=(\d+) seqno=(\d+)/g)) {
    const [, timeline, context, seqno] = m;
    const key = `${timeline} context ${context}`;
    const s = Number(seqno);
    const prev = last.get(key) ?? -1;
    if (s < prev) out.push(`${key}: seqno ${s} signalled after ${prev}`);
    last.set(key, Math.max(prev, s));
  }
  return out;
}

describe('ordering', () => {
  test(covers('SUBMIT', 'concurrency', `${THREADS} threads submit on one file at once: its jobs run in the order their fences were armed`), { timeout: LONG_TOOL_TEST_TIMEOUT_MS }, async () => {
    const node = ossaNode();
    let stdout = '';
    const trace = await fenceTrace(async () => {
      ({ stdout } = await runTool(RACE, [node, String(THREADS), String(SUBMITS), String(BOS)], { timeoutMs: LONG_TOOL_TIMEOUT_MS }));
    });
    expect(stdout.trim()).toBe(`submitted ${THREADS * SUBMITS}`);
    const signalled = [...trace.matchAll(/dma_fence_signaled: driver=drm_sched /g)].length;
    // Each job has a scheduled and a finished fence.
    expect(signalled, 'scheduler fences signalled during the run').toBeGreaterThanOrEqual(2 * THREADS * SUBMITS);
    expect(outOfOrder(trace)).toEqual([]);
  });
});
