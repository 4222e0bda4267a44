/**
 * One boot of the guest with everything the runners need: the build
 * manifest, the accelerator choice, a console log under out/, progress.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseAccel } from './accel.js';
import { coverageMatrix } from './coverage.js';
import { readManifest } from './manifest.js';
import { outDir } from './paths.js';
import { log } from './progress.js';
import { type GuestRun, runGuest } from './vm.js';

export interface SessionOptions {
  /** 'suite' (default): the guest test suite; 'bench': the benchmarks. */
  mode?: 'suite' | 'bench';
  /** Extra QEMU arguments. */
  extraArgs?: string[];
}

export async function bootGuestSuite(options: SessionOptions = {}): Promise<GuestRun> {
  const mode = options.mode ?? 'suite';
  const m = await readManifest();
  await mkdir(join(outDir, 'logs'), { recursive: true });
  const consoleLog = join(outDir, 'logs', mode === 'bench' ? 'bench-console.log' : 'guest-console.log');
  const accel = await chooseAccel(m.qemu, m.vmlinuz, m.probeInitrd, `${m.keys.qemu} ${m.kernelRelease}`);
  log(`guest: booting Linux ${m.kernelRelease} under ${accel.toUpperCase()}; console log: ${consoleLog}`);
  const run = await runGuest({
    qemu: m.qemu,
    kernel: m.vmlinuz,
    initrd: m.initrd,
    consoleLog,
    accel,
    ...(mode === 'bench' ? { append: 'ossa.mode=bench' } : {}),
    ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}),
    onMessage: (msg) => {
      if (msg.type === 'boot') log(`guest: /init running (guest uptime ${msg.uptime} s)`);
      else if (msg.type === 'setup') log(`guest: ${msg.step} ${msg.ok ? 'ok' : `FAILED: ${msg.message ?? ''}`}`);
      else if (msg.type === 'suite-start') log(`guest: suite started, ${msg.files} file(s)`);
      else if (msg.type === 'test') log(`guest: ${msg.state === 'pass' ? 'ok  ' : msg.state} ${msg.file} > ${msg.name}`);
      else if (msg.type === 'suite-end') log(`guest: suite ended: ${msg.passed} passed, ${msg.failed} failed, ${msg.skipped} skipped`);
      else if (msg.type === 'bench') log(`guest: measured ${msg.name}`);
    },
  });
  const t = run.timings;
  const fmt = (s: number | undefined): string => (s === undefined ? 'n/a' : `${s.toFixed(1)} s`);
  log(`guest: boot to /init ${fmt(t.toInit)}, boot to first test ${fmt(t.toFirstTest)}, whole run ${fmt(t.total)}`);
  if (run.failure) log(`guest: ${run.failure.message} (console log: ${consoleLog})`);
  if (mode === 'suite') {
    const matrix = coverageMatrix(run.tests);
    await writeFile(conformancePath, `${JSON.stringify({ timings: run.timings, ...matrix }, null, 2)}\n`);
  }
  return run;
}

/** Where the coverage matrix of the last run is written. */
export const conformancePath = join(outDir, 'conformance.json');

/** The message for a failed run: its cause, and where the console log is. */
export function describeFailure(run: GuestRun): string | undefined {
  if (!run.failure) return undefined;
  return `${run.failure.message}\nconsole log: ${run.consoleLog}`;
}
