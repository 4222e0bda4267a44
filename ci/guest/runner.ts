/**
 * The guest test runner, started by the image's /init: runs the guest
 * suite with vitest and sends every result to the host.
 *
 * usage: node runner.js PORT_DEVICE SUITE_ROOT
 */
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kmemleakAvailable, kmemleakScan } from '../../userspace/tests/guest/support/kmemleak.js';
import { HANG_DUMP_MS } from '../lib/protocol.js';
import { dumpHang } from './hang-dump.js';
import { ChannelReporter } from './reporter.js';

/** The driver's gcov data files (ossa_*.gcda) under debugfs, if the kernel has gcov. */
function driverGcovFiles(): string[] {
  const dir = '/sys/kernel/debug/gcov';
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /(^|\/)ossa_[a-z_]+\.gcda$/.test(f))
    .map((f) => join(dir, f));
}

const [portPath, root] = process.argv.slice(2);
if (!portPath || !root) {
  process.stderr.write('usage: runner.js PORT_DEVICE SUITE_ROOT\n');
  process.exit(2);
}

const reporter = new ChannelReporter(openSync(portPath, 'w'), root);
// Start-up steps, for the host's boot-to-first-test breakdown.
reporter.send({ type: 'phase', name: 'node process start', ago: process.uptime() });
reporter.send({ type: 'phase', name: 'runner start' });
// A suite silent for HANG_DUMP_MS: what every thread is doing goes to the
// console, once. (Longer test timeouts back up tools that time out on
// their own.)
const watchdog = setInterval(() => {
  if (performance.now() - reporter.lastSent < HANG_DUMP_MS) return;
  clearInterval(watchdog);
  void dumpHang(`no result for ${HANG_DUMP_MS / 1000} s`);
}, 5000);
watchdog.unref();
try {
  const { startVitest } = await import('vitest/node');
  reporter.send({ type: 'phase', name: 'vitest loaded' });
  // OSSA_FILTER (from the kernel command line): only these test files.
  const filters = (process.env.OSSA_FILTER ?? '').split(',').filter(Boolean);
  const vitest = await startVitest('test', filters, {
    root,
    watch: false,
    config: false,
    include: ['**/*.test.js'],
    // Kernel log and leak checks after every file.
    setupFiles: [join(root, 'setup.js')],
    // The library and the suite's helpers load as Node loads them for any
    // user, not through vite's transform: nothing in them is mocked, and
    // under TCG the transforms cost about half a second of start-up.
    server: { deps: { external: [/\/userspace\/src\//, /\/support\//] } },
    // Only the channel reporter: the console is a serial line, not a terminal.
    reporters: [reporter],
    // One worker for every file, one after the other: a worker of its own
    // per file cost each file about 4 s of start-up and imports under TCG
    // (the default lane's whole run: 382 s, 280 s in one worker). Each
    // file still gets the setup file's checks, which catch what a file
    // leaves behind.
    pool: 'threads',
    isolate: false,
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  });
  await vitest.close();
  // kmemleak reports objects unreferenced for 5 s: one last scan once the
  // suite's last objects are that old.
  if (kmemleakAvailable()) {
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const leaks = kmemleakScan();
    reporter.send({ type: 'phase', name: 'final kmemleak scan' });
    if (leaks) reporter.send({ type: 'error', message: `kmemleak after the whole suite:\n${leaks}` });
  }
  // Line coverage of the driver (debug kernel, built with gcov).
  for (const file of driverGcovFiles()) {
    reporter.send({ type: 'gcov', path: file, data: readFileSync(file).toString('base64') });
  }
} catch (err) {
  reporter.send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
}
