/**
 * Tier 1: the DRM accel core, for any /dev/accel driver. The tests are
 * the accel-core kit's (src/accel-core/tier.ts), which imports nothing of
 * ossa; here they run against OSSA_CONFORMANCE_NODE (default: the first
 * ossa node) with ossa's adapter, each as its own test, named with the
 * coverage it claims. `ossa conformance --tier core` runs the same tests
 * on any machine (conformance-kit.test.ts).
 */
import { describe, test } from 'vitest';
import { covers, type Row } from '../../../../ci/lib/coverage.js';
import { type BufferContext, CORE_TESTS, type CoreContext, type CoreTest } from '../../../src/accel-core/index.js';
import { adapter, OSSA_ADAPTER_MODULE } from '../../../src/ossa-adapter.js';
import { ossaNode } from '../support/ossa.js';

// ossa guards GET_UNIQUE and GET_MAGIC on kernels without the DRM core's fix.
const ctx: BufferContext = {
  node: process.env.OSSA_CONFORMANCE_NODE ?? ossaNode(),
  adapter: { adapter, module: OSSA_ADAPTER_MODULE.href },
  masterIoctls: true,
};

/** The test's name with the rows of the ioctl matrix it covers: the core's, and ossa's behind the adapter calls. */
function nameOf(t: CoreTest): string {
  if (!t.claims) return t.name;
  const rows = [...t.claims.ioctls, ...(t.claims.adapter ?? []).map((call) => adapter.ioctls[call])] as Row[];
  return covers(rows, t.claims.kind, t.name);
}

const groups = new Map<string, CoreTest[]>();
for (const t of CORE_TESTS) groups.set(t.group, [...(groups.get(t.group) ?? []), t]);
for (const [group, tests] of groups) {
  describe(group, () => {
    for (const t of tests) test(nameOf(t), () => (t.buffers ? t.run(ctx) : t.run(ctx satisfies CoreContext)));
  });
}
