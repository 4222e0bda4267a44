/**
 * `npm start`: builds what is missing, boots the guest, runs the guest
 * suite and prints a table of the results. Exits non-zero when anything
 * failed, 2 on a bad argument.
 *
 * usage: npm start [-- --qemu DIR] [--kernel DIR [--kernel-config FILE]]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { coverageMatrix, formatMatrix } from './lib/coverage.js';
import { bootGuestSuite, conformancePath, describeFailure } from './lib/guest-session.js';
import { repoRoot } from './lib/paths.js';
import { startupLines } from './lib/startup.js';

const USAGE = `usage: npm start [-- --qemu DIR] [--kernel DIR [--kernel-config FILE]]
  --qemu DIR            QEMU from the source tree DIR: the device's series
                        applied to a copy of it, built and booted (as
                        OSSA_QEMU_TREE=DIR does)
  --kernel DIR          the guest kernel from the Linux source tree DIR: built
                        in a copy of it with the driver's Kconfig hooked in,
                        the driver built against it, booted (as
                        OSSA_KERNEL_TREE=DIR does)
  --kernel-config FILE  that kernel's config, instead of DIR/.config or
                        tinyconfig; images/guest.config is merged on top (as
                        OSSA_KERNEL_CONFIG=FILE does)
`;

let args;
try {
  args = parseArgs({
    options: { qemu: { type: 'string' }, kernel: { type: 'string' }, 'kernel-config': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  }).values;
  if (args['kernel-config'] !== undefined && args.kernel === undefined && !process.env.OSSA_KERNEL_TREE) throw new Error('--kernel-config needs --kernel DIR');
} catch (err) {
  process.stderr.write(`npm start: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
// Relative to where npm start was run (npm runs scripts from the checkout).
const here = process.env.INIT_CWD ?? process.cwd();
if (args.qemu !== undefined) process.env.OSSA_QEMU_TREE = resolve(here, args.qemu);
if (args.kernel !== undefined) process.env.OSSA_KERNEL_TREE = resolve(here, args.kernel);
if (args['kernel-config'] !== undefined) process.env.OSSA_KERNEL_CONFIG = resolve(here, args['kernel-config']);

// The build, with the trees given (its own messages say what went wrong).
const build = await execa(resolve(repoRoot, 'node_modules/.bin/tsx'), [resolve(repoRoot, 'ci/build.ts')], { stdio: 'inherit', reject: false });
if (build.exitCode !== 0) process.exit(1);

const run = await bootGuestSuite();

const rows = run.tests.map((t) => ({
  result: t.state === 'pass' ? 'PASS' : t.state === 'fail' ? 'FAIL' : 'SKIP',
  test: `${t.file} > ${t.name}`,
  ms: t.durationMs.toFixed(0),
}));
const width = Math.max(4, ...rows.map((r) => r.test.length));
const line = (a: string, b: string, c: string): string => `${a.padEnd(6)} ${b.padEnd(width)} ${c.padStart(8)}`;
const out: string[] = ['', line('result', 'test', 'time ms'), line('------', '-'.repeat(width), '-------')];
for (const r of rows) out.push(line(r.result, r.test, r.ms));
const count = (s: string): number => run.tests.filter((t) => t.state === s).length;
out.push('', `${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped (guest, ${run.accel.toUpperCase()})`);
for (const t of run.tests.filter((x) => x.state === 'fail')) out.push('', `FAIL ${t.file} > ${t.name}`, t.message ?? '');
for (const e of run.errors) out.push('', `ERROR ${e.file ?? '(suite)'}`, e.message);
for (const w of run.kernelWarnings) out.push(`kernel: ${w}`);
out.push('', `coverage (tests per ioctl or command and category; - does not apply; written to ${conformancePath}):`, '');
const matrix = coverageMatrix(run.tests);
out.push(formatMatrix(matrix));
for (const u of matrix.unobserved) out.push(`claimed but not issued: ${u.test}: ${u.row} (${u.why})`);
const t = run.timings;
out.push('', `boot to first test ${t.toFirstTest?.toFixed(1) ?? 'n/a'} s, whole guest run ${t.total.toFixed(1)} s, under ${run.accel.toUpperCase()}; start-up steps:`);
out.push(...startupLines(t.steps));
const failure = describeFailure(run);
if (failure) out.push('', `FAILED: ${failure}`);
process.stdout.write(`${out.join('\n')}\n`);

process.exitCode =
  failure || count('fail') > 0 || run.errors.length > 0 || run.kernelWarnings.length > 0 || matrix.unobserved.length > 0 ? 1 : 0;
