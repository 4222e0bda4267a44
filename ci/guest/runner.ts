/**
 * The guest test runner, started by the image's /init: runs the guest
 * suite with vitest and sends every result to the host.
 *
 * usage: node runner.js PORT_DEVICE SUITE_ROOT
 */
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { ChannelReporter } from './reporter.js';

const [portPath, root] = process.argv.slice(2);
if (!portPath || !root) {
  process.stderr.write('usage: runner.js PORT_DEVICE SUITE_ROOT\n');
  process.exit(2);
}

const reporter = new ChannelReporter(openSync(portPath, 'w'), root);
// Start-up steps, for the host's boot-to-first-test breakdown.
reporter.send({ type: 'phase', name: 'node process start', ago: process.uptime() });
reporter.send({ type: 'phase', name: 'runner start' });
try {
  const { startVitest } = await import('vitest/node');
  reporter.send({ type: 'phase', name: 'vitest loaded' });
  const vitest = await startVitest('test', [], {
    root,
    watch: false,
    config: false,
    include: ['**/*.test.js'],
    // Kernel log and leak checks after every file.
    setupFiles: [join(root, 'support/setup.js')],
    // The library and the suite's helpers load as Node loads them for any
    // user, not through vite's transform: nothing in them is mocked, and
    // under TCG the transforms cost about half a second of start-up.
    server: { deps: { external: [/\/userspace\/src\//, /\/support\//] } },
    // Only the channel reporter: the console is a serial line, not a terminal.
    reporters: [reporter],
    pool: 'threads',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  });
  await vitest.close();
} catch (err) {
  reporter.send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
}
