/**
 * `npm run test:matrix`: the guest suite on each pair of {Debian stable's
 * kernel, the newest kernel} × {QEMU 10.0.2, the newest QEMU}, and 6.12
 * behind intel-iommu, whose lane in `npm test` runs the newest pair. Kept out of
 * `npm test`'s files: that run covers newest × newest in its intel-iommu
 * lane and 6.12 × 10.0.2 in the others (README, "Kernel and QEMU matrix").
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['ci/tests/guest.test.ts', 'ci/matrix/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['verbose', './ci/lib/results-reporter.ts'],
  },
});
