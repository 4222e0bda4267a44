/**
 * Tier 2, ossa: a SUBMIT is all or nothing (docs/uapi.md, SUBMIT). Signals
 * arrive while batched SUBMITs wait for reservation locks another file
 * holds (tools/submit-signals); each job adds 1 to a counter in place, so
 * the counter must equal the jobs of the calls that succeeded: a call
 * interrupted after queueing part of its batch, then repeated as libdrm
 * repeats it, would count those jobs twice; a failed call's jobs would
 * count once too many.
 */
import { describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { DEBUG_KERNEL, ossaNode } from '../support/ossa.js';
import { LONG_TOOL_TEST_TIMEOUT_MS, LONG_TOOL_TIMEOUT_MS, runTool } from '../support/tool.js';

const TOOL = '/ossa/tools/submit-signals';
/** A case stops making calls once this many were interrupted... */
const MIN_INTERRUPTED = 10;
/** ...or after this many seconds (the debug kernel is several times slower). */
const SECONDS = DEBUG_KERNEL ? 60 : 30;
/** Jobs per call: a signal can come between any two of them. */
const JOBS = 4;
/** Buffers both files list: their locks are what the calls wait for. */
const BOS = 64;

interface Outcome {
  calls: number;
  submits: number;
  interrupted: number;
  counter: number;
  ms: number;
}

async function run(mode: 'retry' | 'raw', restart: 'restart' | 'norestart'): Promise<Outcome> {
  const args = [ossaNode(), String(SECONDS), String(MIN_INTERRUPTED), String(JOBS), String(BOS), mode, restart];
  const { stdout } = await runTool(TOOL, args, { timeoutMs: LONG_TOOL_TIMEOUT_MS });
  const m = /^calls (\d+) submits (\d+) interrupted (\d+) counter (\d+) ms (\d+)$/.exec(stdout.trim());
  if (!m) throw new Error(`submit-signals printed ${JSON.stringify(stdout)}`);
  const [calls, submits, interrupted, counter, ms] = m.slice(1).map(Number) as [number, number, number, number, number];
  return { calls, submits, interrupted, counter, ms };
}

describe('SUBMIT interrupted by signals', () => {
  test.each([
    ['retry', 'restart'],
    ['retry', 'norestart'],
    ['raw', 'restart'],
    ['raw', 'norestart'],
  ] as const)(
    covers('SUBMIT', 'concurrency', `%s calls, a %s signal handler: every job of a successful call runs once, none of a failed one`),
    { timeout: LONG_TOOL_TEST_TIMEOUT_MS },
    async (mode, restart) => {
      const r = await run(mode, restart);
      console.log(`submit-signals ${mode} ${restart}: ${JSON.stringify(r)}`);
      // Without calls that a signal interrupted, the case proves nothing.
      expect(r.interrupted, `calls interrupted (${JSON.stringify(r)})`).toBeGreaterThanOrEqual(MIN_INTERRUPTED);
      expect(r.counter, 'the counter: jobs run').toBe(r.submits * JOBS);
      if (mode === 'retry') expect(r.submits, 'repeated calls that succeeded').toBe(r.calls);
    },
  );
});
