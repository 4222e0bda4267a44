import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['ci/tests/**/*.test.ts', 'qemu-device/tests/**/*.test.ts', 'userspace/tests/host/**/*.test.ts'],
    // The guest suite boots a VM while it is collected; under TCG that
    // takes a while, and the runner enforces its own timeouts.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The global teardown runs gcov and genhtml for the coverage report.
    teardownTimeout: 120_000,
    fileParallelism: false,
    // Line coverage of driver and device, gathered over the whole run.
    globalSetup: ['ci/tests/coverage-report.ts'],
    // One line per test, so each guest test shows as its own result; and
    // out/junit.xml and out/results.ktap for CI engines and test labs.
    reporters: ['verbose', './ci/lib/results-reporter.ts'],
  },
});
