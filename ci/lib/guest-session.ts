/**
 * One boot of the guest with everything the runners need: the build
 * manifest, the accelerator choice, a console log under out/, progress.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseAccel, probeKey } from './accel.js';
import { coverageMatrix } from './coverage.js';
import { type GuestFiles, guestFileFilter } from './guest-files.js';
import { qemuCoverageEnv, saveDriverGcda } from './line-coverage.js';
import { readManifest } from './manifest.js';
import { outDir, ownKernelTreeDir, ownQemuTreeDir } from './paths.js';
import { log } from './progress.js';
import { type GuestRun, runGuest } from './vm.js';

/**
 * Which guest kernel: Debian stable's, as users run it; the debug build of
 * it; the newest kernel Debian serves (sid's, issue 17); or one built from
 * a Linux source tree ('own': OSSA_KERNEL_TREE's, else the newest kernel's
 * pristine tree). The default is 'debian', or 'own' when OSSA_KERNEL_TREE
 * is set.
 */
export type GuestKernel = 'debian' | 'debug' | 'newest' | 'own';

/** How the guest's PCI core lets the driver interrupt: MSI-X (default), or INTx only (pci=nomsi). */
export type GuestInterrupts = 'msix' | 'intx';

/**
 * The vIOMMU the device's DMA goes through: none (default), QEMU's
 * intel-iommu (VT-d) or virtio-iommu. The guest maps in strict mode, so that
 * an IOVA is gone at once when the driver unmaps it.
 */
export type GuestIommu = 'none' | 'intel' | 'virtio';

const IOMMU: Record<Exclude<GuestIommu, 'none'>, { device: string; append: string; label: string }> = {
  intel: { device: 'intel-iommu', append: 'intel_iommu=on iommu.strict=1', label: 'intel-iommu' },
  virtio: { device: 'virtio-iommu-pci', append: 'iommu.strict=1', label: 'virtio-iommu' },
};

/**
 * How far the device reaches on the bus: 'full' (default: 64 bits, 2 GiB
 * of guest RAM) or 'dma32': the device's dma-bits=32 in a guest with 5 GiB,
 * most of it above 4 GiB, so that the driver must keep every bus address
 * it hands the device below 4 GiB.
 */
export type GuestDma = 'full' | 'dma32';

/**
 * Which QEMU: 10.0.2 (as Debian stable's backports ship it), the newest
 * the archive serves, or a lab's own tree (OSSA_QEMU_TREE, built by
 * ci/build.ts). The default is 'stable', or 'own' when OSSA_QEMU_TREE is
 * set and the lane runs the plain build.
 */
export type GuestQemu = 'stable' | 'newest' | 'own';

/**
 * How that QEMU is built: 'plain', or 'asan' (10.0.2 with AddressSanitizer
 * and gcov: a memory error of the device under a real driver stops QEMU
 * and fails the lane, and the run counts in the device's line coverage).
 * ASan makes all of QEMU, TCG included, about twice as slow.
 */
export type GuestDevice = 'plain' | 'asan';

/** One configuration of the guest suite. */
export interface Lane {
  kernel: GuestKernel;
  qemu: GuestQemu;
  interrupts: GuestInterrupts;
  iommu: GuestIommu;
  dma: GuestDma;
  device: GuestDevice;
  files: GuestFiles;
}

/** Seconds the debug kernel's whole run may take, unless OSSA_TOTAL_TIMEOUT says otherwise. */
const DEBUG_TOTAL_TIMEOUT_S = 3600;

/** Guest RAM of a dma32 lane: RAM from 4 GiB up, where a 32-bit device cannot reach. */
const DMA32_MEMORY = '5G';

/** A lane with the defaults filled in. */
const lane = (l: Partial<Lane>): Lane => ({
  kernel: l.kernel ?? (ownKernelTreeDir() ? 'own' : 'debian'),
  qemu: l.qemu ?? (ownQemuTreeDir() && (l.device ?? 'plain') === 'plain' ? 'own' : 'stable'),
  interrupts: l.interrupts ?? 'msix',
  iommu: l.iommu ?? 'none',
  dma: l.dma ?? 'full',
  device: l.device ?? 'plain',
  files: l.files ?? 'all',
});

/**
 * The lane's part of file names: '', '-intx', '-intel-iommu', '-intx-dma32', ...
 * (what it runs on; not which build of QEMU or which files).
 */
function laneSuffix(partial: Partial<Lane>): string {
  const l = lane(partial);
  return [
    l.kernel === 'debian' ? '' : `-${l.kernel}`,
    l.qemu === 'stable' ? '' : `-qemu-${l.qemu}`,
    l.interrupts === 'intx' ? '-intx' : '',
    l.iommu === 'none' ? '' : `-${IOMMU[l.iommu].label}`,
    l.dma === 'dma32' ? '-dma32' : '',
  ].join('');
}

/** What a lane runs on and what it runs, for titles and logs: 'debug kernel, driver tests', 'INTx only: pci=nomsi', ... */
export function laneLabel(partial: Partial<Lane>): string {
  const l = lane(partial);
  return [
    l.kernel === 'debug' ? 'debug kernel' : '',
    l.kernel === 'newest' ? 'newest kernel (Debian sid)' : '',
    l.kernel === 'own' ? (ownKernelTreeDir() ? 'kernel of OSSA_KERNEL_TREE' : "kernel built from the newest kernel's tree") : '',
    l.qemu === 'newest' ? 'newest QEMU' : '',
    l.qemu === 'own' ? `QEMU of OSSA_QEMU_TREE` : '',
    l.interrupts === 'intx' ? 'INTx only: pci=nomsi' : '',
    l.iommu === 'none' ? '' : `${IOMMU[l.iommu].label}, strict`,
    l.dma === 'dma32' ? `device dma-bits=32, ${DMA32_MEMORY} of RAM` : '',
    l.device === 'asan' ? 'QEMU with ASan' : '',
    l.files === 'driver' ? 'driver tests' : '',
  ].filter(Boolean).join(', ');
}

export interface SessionOptions extends Partial<Lane> {
  /** 'suite' (default): the guest test suite; 'bench': the benchmarks. */
  mode?: 'suite' | 'bench';
  /** In bench mode, only these measurements (ci/guest/bench.ts's names); default all. */
  benchSteps?: string[];
  /** Extra QEMU arguments. */
  extraArgs?: string[];
}

export async function bootGuestSuite(options: SessionOptions = {}): Promise<GuestRun> {
  const mode = options.mode ?? 'suite';
  const l = lane(options);
  const which = l.kernel;
  const intx = l.interrupts === 'intx';
  const iommu = l.iommu;
  const m = await readManifest();
  if (which === 'debug' && !m.debug) throw new Error('the build has no debug kernel: run `tsx ci/build.ts --debug-kernel` (npm test does)');
  if (which === 'newest' && !m.newest) throw new Error('the build has no newest kernel: run `tsx ci/build.ts --newest-kernel` (npm test and npm run test:matrix do)');
  if (l.qemu === 'newest' && !m.qemuNewest) throw new Error('the build has no newest QEMU: run `tsx ci/build.ts --newest-qemu` (npm test and npm run test:matrix do)');
  if (l.qemu === 'own') {
    if (!m.qemuOwn) throw new Error('the build has no QEMU of OSSA_QEMU_TREE: build with it set (npm test, npm start and npm run build do)');
    const wanted = ownQemuTreeDir();
    if (m.qemuOwn.source !== wanted) throw new Error(`the build's QEMU of OSSA_QEMU_TREE is from ${m.qemuOwn.source}, not ${wanted ?? 'an unset OSSA_QEMU_TREE'}: build again`);
  }
  if (l.device === 'asan' && (l.qemu !== 'stable' || !m.qemuAsan)) {
    throw new Error(l.qemu === 'stable' ? 'the build has no QEMU with ASan: run `tsx ci/build.ts --asan` (npm test does)' : 'QEMU with ASan is built of the stable QEMU only');
  }
  if (which === 'own') {
    const wanted = ownKernelTreeDir() ?? m.newest?.linuxTree?.dir;
    if (!m.ownKernel) throw new Error('the build has no kernel from a tree: build with OSSA_KERNEL_TREE set, or with `tsx ci/build.ts --kernel-tree` (npm test does)');
    if (m.ownKernel.source !== wanted) throw new Error(`the build's kernel from a tree is of ${m.ownKernel.source}, not ${wanted ?? 'an unset OSSA_KERNEL_TREE'}: build again`);
  }
  const guest = (which === 'debug' ? m.debug : which === 'newest' ? m.newest : which === 'own' ? m.ownKernel : undefined) ?? m;
  await mkdir(join(outDir, 'logs'), { recursive: true });
  const consoleLog = join(outDir, 'logs', mode === 'bench' ? `bench${laneSuffix(l)}-console.log` : `guest${laneSuffix(l)}-console.log`);
  const accel = await chooseAccel(m.qemu, m.vmlinuz, m.probeInitrd, probeKey(m));
  const label = laneLabel(l);
  const fromTree = l.qemu === 'newest' ? m.qemuNewest : l.qemu === 'own' ? m.qemuOwn : undefined;
  const qemuVersion = fromTree ? `${fromTree.version} (from ${fromTree.source})` : m.qemuVersion;
  if (which === 'own' && m.ownKernel) {
    const k = m.ownKernel;
    log(`guest: kernel ${k.version} built from ${k.source}, config from ${k.configFrom}, the driver ${k.driverInTree ? 'built in the tree' : 'built out of tree'}`);
  }
  log(`guest: booting Linux ${guest.kernelRelease} on QEMU ${qemuVersion}${label ? ` (${label})` : ''} under ${accel.toUpperCase()}; console log: ${consoleLog}`);
  // OSSA_GUEST_FILTER=a,b: only the guest test files whose path contains a
  // or b, whatever files the lane runs otherwise.
  const userFilter = process.env.OSSA_GUEST_FILTER;
  if (userFilter) {
    // It goes on the kernel's command line (2048 bytes in all on x86), where a cut would change what it matches.
    if (!/^[\w.,/-]+$/.test(userFilter)) throw new Error(`OSSA_GUEST_FILTER=${userFilter}: only letters, digits, '.', '_', '-', '/' and ','`);
    if (!userFilter.split(',').some(Boolean)) throw new Error(`OSSA_GUEST_FILTER=${userFilter}: names no file`);
    if (userFilter.length > 1024) throw new Error(`OSSA_GUEST_FILTER: ${userFilter.length} characters; at most 1024`);
  }
  const filter = guestFileFilter(l.files, userFilter)?.join(',');
  const append = [
    mode === 'bench' ? 'ossa.mode=bench' : '',
    mode === 'bench' && options.benchSteps ? `ossa.bench=${options.benchSteps.join(',')}` : '',
    // Every KASAN report, not only the first.
    which === 'debug' ? 'kasan_multi_shot' : '',
    // No MSI or MSI-X for any device: the driver takes one INTx.
    intx ? 'pci=nomsi' : '',
    iommu === 'none' ? '' : IOMMU[iommu].append,
    // What the lane puts in front of the device, for the tests that must
    // not mistake a missing vIOMMU for one they did not ask for.
    `ossa.iommu=${iommu}`,
    filter ? `ossa.filter=${filter}` : '',
  ].filter(Boolean).join(' ');
  const qemu = fromTree ? fromTree.binary : l.device === 'asan' && m.qemuAsan ? m.qemuAsan : m.qemu;
  const run = await runGuest({
    qemu,
    env: { ASAN_OPTIONS: 'abort_on_error=1:detect_leaks=0', ...qemuCoverageEnv() },
    kernel: guest.vmlinuz,
    initrd: guest.initrd,
    consoleLog,
    accel,
    ...(append ? { append } : {}),
    ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}),
    ...(iommu === 'none' ? {} : { beforeDevices: ['-device', IOMMU[iommu].device] }),
    ...(l.dma === 'dma32' ? { memory: DMA32_MEMORY, ossaProperties: { 'dma-bits': 32 } } : {}),
    // The debug kernel under TCG runs the whole suite in about 30 min
    // here (the driver's tests in less): the whole-run bound is a
    // backstop, and the silence timeout still ends a hung guest within
    // minutes.
    ...(which === 'debug' && !process.env.OSSA_TOTAL_TIMEOUT ? { totalTimeoutS: DEBUG_TOTAL_TIMEOUT_S } : {}),
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
  log(`guest (${accel.toUpperCase()}): boot to /init ${fmt(t.toInit)}, boot to first test ${fmt(t.toFirstTest)}, whole run ${fmt(t.total)}`);
  const slowest = [...run.files].sort((a, b) => b.seconds - a.seconds).slice(0, 5);
  if (slowest.length) log(`guest: slowest files: ${slowest.map((f) => `${f.file} ${fmt(f.seconds)}`).join(', ')}`);
  if (run.failure) log(`guest: ${run.failure.message} (console log: ${consoleLog})`);
  if (which === 'debug' && run.gcov.length) await saveDriverGcda(run.gcov);
  if (mode === 'suite') {
    const matrix = coverageMatrix(run.tests);
    // Each test's recorded ioctls too: what the matrix was computed from.
    const tests = run.tests.map((t) => ({ file: t.file, name: t.name, state: t.state, durationMs: t.durationMs, ioctls: t.ioctls ?? null }));
    await writeFile(conformancePathOf(l), `${JSON.stringify({ kernel: guest.kernelRelease, timings: run.timings, files: run.files, ...matrix, tests }, null, 2)}\n`);
  }
  return run;
}

/** Where the coverage matrix of the last run of a lane is written. */
export function conformancePathOf(l: Partial<Lane>): string {
  return join(outDir, `conformance${laneSuffix(l)}.json`);
}

/** The matrix of the last run on Debian's kernel. */
export const conformancePath = conformancePathOf({});

/** The message for a failed run: its cause, and where the console log is. */
export function describeFailure(run: GuestRun): string | undefined {
  if (!run.failure) return undefined;
  return `${run.failure.message}\nconsole log: ${run.consoleLog}`;
}
