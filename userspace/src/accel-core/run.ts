/**
 * Runs a tier's tests one after the other and gives their results as KTAP
 * tests, one subtest per group in the order the tier lists them; and, as
 * each test ends, the KTAP lines so far, so that a run that hangs still
 * shows what it did.
 */
import { AdapterError } from './adapter.js';
import { AccelFile, errnoOf } from './file.js';
import { ktapHeader, ktapResult, type KtapTest } from './ktap.js';
import { syncobjCreate, syncobjDestroy } from './objects.js';
import { type BufferContext, type CoreContext, type CoreTest, type Need, NO_ADAPTER, UNMET } from './tier.js';

/** How long one test may take before it counts as failed. */
export const TEST_TIMEOUT_MS = 120_000;

export interface RunOptions {
  /** Per test; see TEST_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Each line of the KTAP document, as soon as it is known. */
  onLine?: (line: string) => void;
  /** Called for each test that ran out of time (its work may still hold a thread in the kernel). */
  onTimeout?: (test: CoreTest) => void;
  /** The node's driver name (DRM_IOCTL_VERSION), when the caller has read it already. */
  driver?: string;
}

/** The name of the node's driver. */
function nodeDriver(node: string): string {
  using file = AccelFile.open(node);
  return file.version().name;
}

/** What the run's node offers, asked once: whether the driver has syncobjs. */
function offered(node: string): Set<Need> {
  using file = AccelFile.open(node);
  const has = new Set<Need>();
  let handle = 0;
  const code = errnoOf(() => (handle = syncobjCreate(file)));
  if (code === 'ok') {
    has.add('syncobj');
    syncobjDestroy(file, handle);
  } else if (code !== 'EOPNOTSUPP') {
    throw new Error(`${node}: SYNCOBJ_CREATE failed with ${code}, neither a syncobj nor EOPNOTSUPP`);
  }
  return has;
}

/**
 * Runs one test: undefined when it passed, else why it failed. At the
 * timeout the test's signal aborts (its children are killed, its loops
 * end), it counts as failed and `onTimeout` hears of it; a test stuck in
 * a system call keeps the event loop, so no timer can end it.
 */
async function runOne(test: CoreTest, ctx: CoreContext, timeoutMs: number, onTimeout?: (test: CoreTest) => void): Promise<string | undefined> {
  const controller = new AbortController();
  const own = { ...ctx, signal: controller.signal };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      onTimeout?.(test);
      resolve(`did not finish within ${timeoutMs / 1000} s`);
    }, timeoutMs);
  });
  const run = (async (): Promise<undefined> => {
    if (test.buffers) await test.run(own as BufferContext);
    else await test.run(own);
    return undefined;
  })().catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why a test cannot run here, if it cannot. */
function unmet(test: CoreTest, ctx: CoreContext, has: Set<Need>): string | undefined {
  if (test.buffers && !ctx.adapter) return NO_ADAPTER;
  for (const need of test.needs ?? []) {
    if (need === 'master-ioctls' ? !ctx.masterIoctls : !has.has(need)) return UNMET[need];
  }
  return undefined;
}

/**
 * The results of `tests` against `ctx`, grouped. A test whose needs the
 * run lacks is skipped, saying why. Throws AdapterError when the adapter
 * serves another driver than the node's, and an AccelError when the node
 * cannot be opened.
 */
export async function runTier(tests: readonly CoreTest[], ctx: CoreContext, options: RunOptions = {}): Promise<KtapTest[]> {
  const timeoutMs = options.timeoutMs ?? TEST_TIMEOUT_MS;
  const emit = (lines: string[]): void => lines.forEach((l) => options.onLine?.(l));
  if (ctx.adapter) {
    const driver = options.driver ?? nodeDriver(ctx.node);
    if (ctx.adapter.adapter.driver !== driver) {
      throw new AdapterError(`${ctx.adapter.module} is an adapter for "${ctx.adapter.adapter.driver}", but ${ctx.node} is driven by "${driver}"`);
    }
  }
  const has = tests.some((t) => t.needs?.includes('syncobj')) ? offered(ctx.node) : new Set<Need>();
  const groups = new Map<string, CoreTest[]>();
  for (const t of tests) groups.set(t.group, [...(groups.get(t.group) ?? []), t]);
  emit(ktapHeader(groups.size));
  const results: KtapTest[] = [];
  for (const [name, members] of groups) {
    emit(ktapHeader(members.length, '    ', name));
    const subtests: KtapTest[] = [];
    for (const test of members) {
      const reason = unmet(test, ctx, has);
      let result: KtapTest;
      if (reason !== undefined) {
        result = { name: test.name, state: 'skip', message: reason };
      } else {
        const failure = await runOne(test, ctx, timeoutMs, options.onTimeout);
        result = failure === undefined ? { name: test.name, state: 'pass' } : { name: test.name, state: 'fail', message: failure };
      }
      subtests.push(result);
      emit(ktapResult(result, subtests.length, '    '));
    }
    const group = { name, subtests };
    results.push(group);
    emit(ktapResult(group, results.length));
  }
  return results;
}
