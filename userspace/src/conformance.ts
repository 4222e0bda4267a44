/**
 * `ossa conformance`: the accel-core kit's tier against any accel node,
 * with the driver's adapter (the built-in one for ossa, a module given
 * with --adapter, or none), its results as KTAP.
 */
import { type LoadedAdapter, loadAdapter } from './accel-core/adapter.js';
import { AccelFile } from './accel-core/file.js';
import { type KtapTest, ktapState } from './accel-core/ktap.js';
import { runTier } from './accel-core/run.js';
import { CORE_TESTS } from './accel-core/tier.js';
import type { DriverVersion } from './drm.js';

/** The tiers a run can choose. */
export const TIERS = ['core'] as const;
export type Tier = (typeof TIERS)[number];

/** Adapters this package carries, by driver name. */
const BUILT_IN: Record<string, URL> = { ossa: new URL('./ossa-adapter.js', import.meta.url) };

/** A --filter that no test matches. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
}

/** How a run goes beyond its node and tier. */
export interface ConformanceOptions {
  /** A module path, URL or package name, 'none', or undefined for the adapter built in for the node's driver, if any. */
  adapter?: string;
  /** Only the tests whose group or name holds it. */
  filter?: string;
  /** Call GET_UNIQUE and GET_MAGIC (CoreContext.masterIoctls). */
  masterIoctls?: boolean;
  /** Each KTAP line as soon as it is known. */
  onLine?: (line: string) => void;
}

export interface ConformanceRun {
  node: string;
  driver: DriverVersion;
  tier: Tier;
  /** The adapter module used, or why there was none. */
  adapter: { module: string } | { none: string };
  results: KtapTest[];
  counts: { pass: number; fail: number; skip: number };
  /** Whether a test ran out of time (its work may still hold the process). */
  timedOut: boolean;
}

/**
 * Runs the tier against `node`. Throws FilterError when no test matches,
 * AccelError when the node cannot be opened or answers no VERSION,
 * AdapterError when the module is no adapter or serves another driver.
 */
export async function runConformance(node: string, tier: Tier, options: ConformanceOptions = {}): Promise<ConformanceRun> {
  const { filter, adapter } = options;
  const tests = filter === undefined ? CORE_TESTS : CORE_TESTS.filter((t) => `${t.group}: ${t.name}`.includes(filter));
  if (!tests.length) throw new FilterError(`--filter ${filter}: no test of tier ${tier} has that in its group or name`);
  let driver: DriverVersion;
  {
    using file = AccelFile.open(node);
    driver = file.version();
  }
  let loaded: LoadedAdapter | undefined;
  let none = '';
  if (adapter === 'none') none = 'none asked for (--adapter none)';
  else if (adapter !== undefined) loaded = await loadAdapter(adapter);
  else if (BUILT_IN[driver.name]) loaded = await loadAdapter(BUILT_IN[driver.name] as URL);
  else none = `none built in for driver "${driver.name}" (give one with --adapter)`;
  let timedOut = false;
  const results = await runTier(
    tests,
    { node, ...(loaded ? { adapter: loaded } : {}), ...(options.masterIoctls ? { masterIoctls: true } : {}) },
    { driver: driver.name, onTimeout: () => (timedOut = true), ...(options.onLine ? { onLine: options.onLine } : {}) },
  );
  const leaves = results.flatMap((g) => g.subtests ?? [g]);
  const count = (state: string): number => leaves.filter((t) => ktapState(t) === state).length;
  return {
    node,
    driver,
    tier,
    adapter: loaded ? { module: loaded.module } : { none },
    results,
    counts: { pass: count('pass'), fail: count('fail'), skip: count('skip') },
    timedOut,
  };
}
