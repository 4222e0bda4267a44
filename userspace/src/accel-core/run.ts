/**
 * Runs a tier's tests one after the other and gives their results as KTAP
 * tests: one subtest per group, in the order the tier lists them.
 */
import { type BufferContext, type CoreContext, type CoreTest, NO_ADAPTER } from './tier.js';
import type { KtapTest } from './ktap.js';

/** How long one test may take before it counts as failed (its work may go on in the background). */
export const TEST_TIMEOUT_MS = 120_000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one test: undefined when it passed, else why it failed. */
async function runOne(test: CoreTest, ctx: CoreContext, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`did not finish within ${timeoutMs / 1000} s`), timeoutMs);
  });
  const run = (async (): Promise<undefined> => {
    if (test.buffers) await test.run(ctx as BufferContext);
    else await test.run(ctx);
    return undefined;
  })().catch(message);
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The results of `tests` against `ctx`, grouped. A test that needs buffers
 * is skipped, with the reason, when the context has no adapter.
 */
export async function runTier(tests: readonly CoreTest[], ctx: CoreContext, timeoutMs = TEST_TIMEOUT_MS): Promise<KtapTest[]> {
  const groups = new Map<string, KtapTest[]>();
  for (const test of tests) {
    let result: KtapTest;
    if (test.buffers && !ctx.adapter) {
      result = { name: test.name, state: 'skip', message: NO_ADAPTER };
    } else {
      const failure = await runOne(test, ctx, timeoutMs);
      result = failure === undefined ? { name: test.name, state: 'pass' } : { name: test.name, state: 'fail', message: failure };
    }
    const group = groups.get(test.group) ?? [];
    group.push(result);
    groups.set(test.group, group);
  }
  return [...groups].map(([name, subtests]) => ({ name, subtests }));
}
