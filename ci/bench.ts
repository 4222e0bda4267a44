/**
 * `npm run bench`: boots the guest once in benchmark mode, with QEMU's NVMe
 * controller beside the ossa device, and prints every figure beside its
 * floor, measured in the same run: out/bench.json, out/bench.svg.
 *
 * Guest CPU model: qemu64, chosen on purpose: under TCG, -cpu max makes
 * glibc pick `rep movsb` and small guest memcpy several times slower.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { coldBuildSeconds } from './lib/cache.js';
import { throughputChart } from './lib/chart.js';
import { bootGuestSuite, conformancePath, describeFailure } from './lib/guest-session.js';
import { readManifest } from './lib/manifest.js';
import { cacheDir, outDir, repoRoot } from './lib/paths.js';
import { log } from './lib/progress.js';
import { type StartupStep, startupLines } from './lib/startup.js';
import { guestCpu } from './lib/vm.js';
import type { JobTimeline, SubmitGraph } from './guest/kernel-trace.js';
import type { StepTimes } from '../userspace/src/trace/steps.js';
import { percentile } from './guest/stats.js';

interface KernelTrace {
  submit: SubmitGraph;
  timeline: JobTimeline;
}

interface CopyRow {
  size: number;
  deviceNs: number;
  endToEndNs: number;
  deviceGBps: number;
  endToEndGBps: number;
}
interface NvmeRow {
  size: number;
  request: number;
  GBps: number;
}
interface Latency {
  p50Ns: number;
  p99Ns: number;
}
/** ci/guest/bench.ts's userspace-driver measurement. */
interface UserspaceDriverRun {
  via: 'vfio' | 'uio';
  isolated: boolean;
  nop: Latency & { samples: number };
  copy: { rows: Array<{ size: number; deviceGBps: number; endToEndGBps: number }>; verified: boolean };
}

const NVME_IMAGE = '/dev/shm/ossa-bench-nvme.img';
const NVME_IMAGE_BYTES = 256 << 20;

async function hostMemcpy(sizes: number[]): Promise<Array<{ size: number; GBps: number }>> {
  const dir = await mkdtemp(join(tmpdir(), 'ossa-bench-'));
  try {
    const bin = join(dir, 'host-memcpy');
    await execa('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, join(repoRoot, 'ci/bench/host-memcpy.c')]);
    return JSON.parse((await execa(bin, sizes.map(String))).stdout) as Array<{ size: number; GBps: number }>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Build times: cold as each part's last build from nothing recorded it (a
 * QEMU build that reused its work tree does not count), cached as measured now.
 */
async function buildTimes(): Promise<{ cold: Record<string, number | null>; coldTotal: number | null; cachedSeconds: number }> {
  const m = await readManifest();
  const cold: Record<string, number | null> = {};
  for (const part of Object.keys(m.keys)) {
    cold[part] = (await coldBuildSeconds(part.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))) ?? null;
  }
  const known = Object.values(cold).filter((v): v is number => v !== null);
  const t0 = performance.now();
  await execa('npx', ['tsx', join(repoRoot, 'ci/build.ts')], { cwd: repoRoot });
  return {
    cold,
    coldTotal: known.length === Object.keys(cold).length ? known.reduce((a, b) => a + b, 0) : null,
    cachedSeconds: (performance.now() - t0) / 1000,
  };
}

/**
 * From the trace: for each job, the time from the doorbell that queued it
 * to the device writing its result, in µs (p50, p99).
 */
/** What one submission cost the library: ioctls, and JS heap bytes (null: a GC fell in every try). */
interface SubmitCost {
  ioctls: number;
  bytes: number | null;
}

async function deviceLatency(file: string): Promise<{ jobs: number; p50Us: number; p99Us: number } | null> {
  if (!existsSync(file)) return null;
  const doorbell = new Map<string, number>();
  const lat: number[] = [];
  const re = /^\d+@(\d+)\.(\d{6}):ossa_(queue_doorbell|job_end) queue (\d+) (?:tail (\d+)|job (\d+))/;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const t = Number(m[1]) * 1e6 + Number(m[2]);
    if (m[3] === 'queue_doorbell') doorbell.set(`${m[4]}:${Number(m[5]) - 1}`, t);
    else {
      const key = `${m[4]}:${m[6]}`;
      const t0 = doorbell.get(key);
      if (t0 !== undefined) lat.push(t - t0);
      doorbell.delete(key);
    }
  }
  if (!lat.length) return null;
  return { jobs: lat.length, p50Us: percentile(lat, 50), p99Us: percentile(lat, 99) };
}

const gb = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));
const us = (ns: number | undefined): string => (ns === undefined || !Number.isFinite(ns) ? 'n/a' : (ns / 1000).toFixed(1));
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a / b) ? 'n/a' : `${(a / b).toFixed(2)}x`;
const sizeLabel = (n: number): string => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : `${n / 1024} KiB`);

async function main(): Promise<void> {
  await mkdir(outDir, { recursive: true });
  if (!existsSync(NVME_IMAGE)) {
    const b = Buffer.alloc(1 << 20);
    const chunks: Buffer[] = [];
    for (let i = 0; i < NVME_IMAGE_BYTES >> 20; i++) chunks.push(b.fill(i & 0xff));
    await writeFile(NVME_IMAGE, Buffer.concat(chunks));
  }
  log(`bench: NVMe peer backed by ${NVME_IMAGE} (${NVME_IMAGE_BYTES >> 20} MiB, host tmpfs, cache=none, aio=threads)`);

  // QEMU's own trace events time the device side of each job: doorbell
  // to write-back, with microsecond timestamps.
  const traceLog = join(outDir, 'logs', 'bench-trace.log');
  await rm(traceLog, { force: true });
  const run = await bootGuestSuite({
    mode: 'bench',
    extraArgs: [
      '-drive', `file=${NVME_IMAGE},if=none,id=nvm,format=raw,cache=none,aio=threads`,
      '-device', 'nvme,serial=ossa-bench,drive=nvm',
      '-msg', 'timestamp=on', '-D', traceLog,
      '-trace', 'ossa_queue_doorbell', '-trace', 'ossa_job_end',
    ],
  });
  const deviceSide = await deviceLatency(traceLog);
  // The same device driven from userspace: over UIO in the boot above (no
  // IOMMU), over VFIO in a second boot behind intel-iommu, where the kernel
  // driver's NOP and COPY are measured again so that each model meets its like.
  log('bench: a second boot, behind intel-iommu: VFIO, and the kernel driver there');
  const iommuRun = await bootGuestSuite({ mode: 'bench', iommu: 'intel', benchSteps: ['nop-hot', 'copy', 'userspace-driver'] });
  const failure = describeFailure(run) ?? describeFailure(iommuRun);
  const errors = [...run.errors, ...iommuRun.errors];
  const data = Object.fromEntries(run.bench.map((b) => [b.name, b.data])) as {
    copy?: { rows: CopyRow[]; verified: boolean };
    nop?: Latency & { samples: number; submitCallP50Ns: number; waitP50Ns: number };
    'nop-hot'?: Latency & { samples: number; submitCallP50Ns: number };
    'submit-cost'?: { submissions: number; enqueue: SubmitCost; submit: SubmitCost };
    jobs?: { rows: Array<{ inFlight: number; jobsPerSecond: number }> };
    ioctl?: {
      tsGetParamNs: number;
      bindingGetParamNs: number;
      cGetParamNs: number;
      tsVersionNs: number;
      bindingVersionNs: number;
      cVersionNs: number;
    };
    'nop-c'?: { submit_p50_ns: number; submit_p99_ns: number; total_p50_ns: number; total_p99_ns: number };
    'kernel-trace'?: KernelTrace;
    journey?: { inFlight: number; jobs: number; complete: number; clockUncertaintyNs: number | null; deviceEvents: string; steps: StepTimes };
    nvme?: { rows: NvmeRow[]; latency4k: Latency } | { error: string };
    'guest-memcpy'?: { GBps: number };
    'submit-profile'?: { totalUs: number; top: Array<{ where: string; selfUs: number; share: number }> };
    'userspace-driver'?: UserspaceDriverRun | { skipped: string };
  };
  const iommuData = Object.fromEntries(iommuRun.bench.map((b) => [b.name, b.data])) as Pick<typeof data, 'nop-hot' | 'copy' | 'userspace-driver'>;
  const ran = (u: UserspaceDriverRun | { skipped: string } | undefined): UserspaceDriverRun | undefined => (u && 'via' in u ? u : undefined);
  const udNone = ran(data['userspace-driver']);
  const udIommu = ran(iommuData['userspace-driver']);
  const models = [
    { model: 'kernel driver + library', iommu: 'none', nopP50Ns: data['nop-hot']?.p50Ns, copy: data.copy?.rows },
    { model: `userspace driver over ${udNone?.via.toUpperCase() ?? '(not run)'}`, iommu: 'none', nopP50Ns: udNone?.nop.p50Ns, copy: udNone?.copy.rows },
    { model: 'kernel driver + library', iommu: 'intel-iommu', nopP50Ns: iommuData['nop-hot']?.p50Ns, copy: iommuData.copy?.rows },
    { model: `userspace driver over ${udIommu?.via.toUpperCase() ?? '(not run)'}`, iommu: 'intel-iommu', nopP50Ns: udIommu?.nop.p50Ns, copy: udIommu?.copy.rows },
  ];
  const MODEL_SIZES = [64 << 10, 1 << 20, 4 << 20];
  const copyRows = data.copy?.rows ?? [];
  const sizes = copyRows.map((r) => r.size);
  const host = sizes.length ? await hostMemcpy(sizes) : [];
  const hostAt = (size: number): number | undefined => host.find((h) => h.size === size)?.GBps;
  const nvmeRows = data.nvme && 'rows' in data.nvme ? data.nvme.rows : [];
  const nvmeAt = (size: number): number | undefined => nvmeRows.find((r) => r.size === size)?.GBps;
  const nvmeLat = data.nvme && 'latency4k' in data.nvme ? data.nvme.latency4k : undefined;
  const builds = await buildTimes();
  const conformance = existsSync(conformancePath)
    ? (JSON.parse(await readFile(conformancePath, 'utf8')) as { timings?: { toFirstTest?: number; total?: number; steps?: StartupStep[] } })
        .timings
    : undefined;

  const big = 64 << 20;
  const copyBig = copyRows.find((r) => r.size === big);
  // device COPY against host memcpy at each size of 1 MiB and more: the lowest
  const ratiosFrom1M = copyRows.filter((r) => r.size >= 1 << 20).map((r) => r.deviceGBps / (hostAt(r.size) ?? Number.NaN));
  const nopHot = data['nop-hot'];
  const nopC = data['nop-c'];
  const jobsAt = (n: number): number | undefined => data.jobs?.rows.find((r) => r.inFlight === n)?.jobsPerSecond;
  // end-to-end COPY through the library against the NVMe peer, each size from 4 KiB: the lowest
  const e2eVsNvme = copyRows.filter((r) => r.size >= 4 << 10).map((r) => r.endToEndGBps / (nvmeAt(r.size) ?? Number.NaN));
  const targets = {
    copyVsHostMemcpyFrom1M: ratiosFrom1M.length && ratiosFrom1M.every(Number.isFinite) ? Math.min(...ratiosFrom1M) : null,
    copyVsNvme64M: copyBig && nvmeAt(big) ? copyBig.deviceGBps / (nvmeAt(big) as number) : null,
    nopVsBareIoctl: data.nop && data.ioctl ? data.nop.p50Ns / data.ioctl.cVersionNs : null,
    typescriptVsC: data.ioctl ? data.ioctl.tsGetParamNs / data.ioctl.cGetParamNs : null,
    // Issue 19's per-job goals: the library's hot loop (enqueue, Syncobj.wait) against C's.
    libraryNopVsC: nopHot && nopC ? nopHot.p50Ns / nopC.total_p50_ns : null,
    submitCallVsC: nopHot && nopC ? nopHot.submitCallP50Ns / nopC.submit_p50_ns : null,
    ioctlsPerSubmit: data['submit-cost']?.enqueue.ioctls ?? null,
    jsBytesPerSubmit: data['submit-cost']?.enqueue.bytes ?? null,
    jobs16VsJobs1: jobsAt(16) && jobsAt(1) ? (jobsAt(16) as number) / (jobsAt(1) as number) : null,
    copyEndToEndVsNvmeFrom4K: e2eVsNvme.length && e2eVsNvme.every(Number.isFinite) ? Math.min(...e2eVsNvme) : null,
    // The conformance suite's own boot-to-first-test when a run recorded it.
    bootToFirstTestSeconds: conformance?.toFirstTest ?? run.timings.toFirstTest ?? null,
  };
  const goals = {
    copyVsHostMemcpyFrom1M: { goal: '>= 0.8', holds: (targets.copyVsHostMemcpyFrom1M ?? 0) >= 0.8 },
    copyVsNvme64M: { goal: '>= 3', holds: (targets.copyVsNvme64M ?? 0) >= 3 },
    nopVsBareIoctl: { goal: '<= 10', holds: targets.nopVsBareIoctl !== null && targets.nopVsBareIoctl <= 10 },
    typescriptVsC: { goal: '<= 1.3', holds: targets.typescriptVsC !== null && targets.typescriptVsC <= 1.3 },
    bootToFirstTestSeconds: { goal: '<= 10', holds: targets.bootToFirstTestSeconds !== null && targets.bootToFirstTestSeconds <= 10 },
    libraryNopVsC: { goal: '<= 1.3', holds: targets.libraryNopVsC !== null && targets.libraryNopVsC <= 1.3 },
    submitCallVsC: { goal: '<= 2', holds: targets.submitCallVsC !== null && targets.submitCallVsC <= 2 },
    ioctlsPerSubmit: { goal: '== 1', holds: targets.ioctlsPerSubmit === 1 },
    jsBytesPerSubmit: { goal: '< 1', holds: targets.jsBytesPerSubmit !== null && targets.jsBytesPerSubmit < 1 },
    jobs16VsJobs1: { goal: '>= 5', holds: targets.jobs16VsJobs1 !== null && targets.jobs16VsJobs1 >= 5 },
    copyEndToEndVsNvmeFrom4K: { goal: '>= 1', holds: targets.copyEndToEndVsNvmeFrom4K !== null && targets.copyEndToEndVsNvmeFrom4K >= 1 },
  };

  const result = {
    date: new Date().toISOString(),
    guest: { accel: run.accel, cpu: guestCpu(run.accel), smp: 2, memory: '2G' },
    copy: copyRows.map((r) => ({ ...r, hostMemcpyGBps: hostAt(r.size), nvmeGBps: nvmeAt(r.size) })),
    copyVerified: data.copy?.verified ?? false,
    nvme: data.nvme ?? null,
    nop: data.nop ?? null,
    nopHot: nopHot ?? null,
    submitCost: data['submit-cost'] ?? null,
    nopFromC: data['nop-c'] ?? null,
    kernelTrace: data['kernel-trace'] ?? null,
    journey: data.journey ?? null,
    deviceSideJobLatency: deviceSide,
    ioctl: data.ioctl ?? null,
    jobs: data.jobs?.rows ?? [],
    guestMemcpyGBps: data['guest-memcpy']?.GBps ?? null,
    submitProfile: data['submit-profile'] ?? null,
    userspaceDrivers: { noIommu: data['userspace-driver'] ?? null, intelIommu: iommuData['userspace-driver'] ?? null, models },
    boot: { toInitSeconds: run.timings.toInit ?? null, toFirstMeasurementSeconds: run.timings.toFirstTest ?? null, startup: run.timings.steps },
    conformance: conformance
      ? { toFirstTestSeconds: conformance.toFirstTest ?? null, wholeRunSeconds: conformance.total ?? null, startup: conformance.steps ?? [] }
      : null,
    builds,
    targets,
    goals,
    errors,
    failure: failure ?? null,
  };
  await writeFile(join(outDir, 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(
    join(outDir, 'bench.svg'),
    throughputChart('COPY throughput against transfer size (same run)', [
      { name: 'ossa COPY (device)', color: '#1f77b4', points: copyRows.map((r) => ({ x: r.size, y: r.deviceGBps })) },
      { name: 'ossa COPY (end to end)', color: '#aec7e8', points: copyRows.map((r) => ({ x: r.size, y: r.endToEndGBps })) },
      { name: 'host memcpy', color: '#2ca02c', points: host.map((h) => ({ x: h.size, y: h.GBps })) },
      { name: 'NVMe O_DIRECT read', color: '#d62728', points: nvmeRows.map((r) => ({ x: r.size, y: r.GBps })) },
    ]),
  );

  // Absolute figures depend on the accelerator: say which, first.
  const lines: string[] = ['', `measured in a guest under ${run.accel.toUpperCase()} (-cpu ${guestCpu(run.accel)}, 2 vCPUs, 2G): absolute times and rates are ${run.accel.toUpperCase()}'s, ratios compare like with like`];
  lines.push('', 'throughput, GB/s (medians; device = between TIMESTAMP commands, end to end = submit to fence)', '');
  lines.push(`${'size'.padStart(8)} ${'COPY dev'.padStart(9)} ${'COPY e2e'.padStart(9)} ${'memcpy'.padStart(8)} ${'NVMe'.padStart(7)} ${'dev/memcpy'.padStart(11)} ${'dev/NVMe'.padStart(9)}`);
  for (const r of copyRows) {
    lines.push(
      `${sizeLabel(r.size).padStart(8)} ${gb(r.deviceGBps).padStart(9)} ${gb(r.endToEndGBps).padStart(9)} ${gb(hostAt(r.size)).padStart(8)} ${gb(nvmeAt(r.size)).padStart(7)} ${ratio(r.deviceGBps, hostAt(r.size)).padStart(11)} ${ratio(r.deviceGBps, nvmeAt(r.size)).padStart(9)}`,
    );
  }
  lines.push('', 'latency, µs', '');
  lines.push(`NOP job, submit to fence (library)   p50 ${us(data.nop?.p50Ns)}  p99 ${us(data.nop?.p99Ns)}`);
  lines.push(`  of which the submit call           p50 ${us(data.nop?.submitCallP50Ns)}, the wait for the fence p50 ${us(data.nop?.waitP50Ns)}`);
  lines.push(`  device side, doorbell to write-back (QEMU trace, all ${deviceSide?.jobs ?? 0} jobs) p50 ${deviceSide?.p50Us.toFixed(1) ?? 'n/a'} p99 ${deviceSide?.p99Us.toFixed(1) ?? 'n/a'}`);
  lines.push(`NOP job, hot loop (library: enqueue, Syncobj.wait) p50 ${us(nopHot?.p50Ns)}  p99 ${us(nopHot?.p99Ns)}, the enqueue call p50 ${us(nopHot?.submitCallP50Ns)}`);
  lines.push(`NOP job, submit to fence (C, SYNCOBJ_WAIT) p50 ${us(nopC?.total_p50_ns)}  p99 ${us(nopC?.total_p99_ns)}   library/C ${ratio(data.nop?.p50Ns, nopC?.total_p50_ns)}`);
  lines.push(`  hot loop/C ${ratio(nopHot?.p50Ns, nopC?.total_p50_ns)}`);
  lines.push(`  of which the SUBMIT call           p50 ${us(nopC?.submit_p50_ns)}   library's submit call/C ${ratio(data.nop?.submitCallP50Ns, nopC?.submit_p50_ns)}, enqueue/C ${ratio(nopHot?.submitCallP50Ns, nopC?.submit_p50_ns)}`);
  const cost = data['submit-cost'];
  if (cost) {
    const b = (x: number | null): string => (x === null ? 'n/a (a GC fell in every try)' : x.toFixed(1));
    lines.push(`per submission (${cost.submissions} in a row): enqueue ${cost.enqueue.ioctls.toFixed(2)} ioctls, ${b(cost.enqueue.bytes)} JS heap bytes; submit ${cost.submit.ioctls.toFixed(2)} ioctls, ${b(cost.submit.bytes)} JS heap bytes`);
  }
  lines.push(`DRM_IOCTL_VERSION round trip (C)     ${us(data.ioctl?.cVersionNs)}   NOP/VERSION ${ratio(data.nop?.p50Ns, data.ioctl?.cVersionNs)}, C NOP/VERSION ${ratio(nopC?.total_p50_ns, data.ioctl?.cVersionNs)}`);
  lines.push(`NVMe 4 KiB O_DIRECT read             p50 ${us(nvmeLat?.p50Ns)}  p99 ${us(nvmeLat?.p99Ns)}   NOP/NVMe ${ratio(data.nop?.p50Ns, nvmeLat?.p50Ns)}`);
  const kt = data['kernel-trace'];
  if (kt) {
    lines.push('', `where a NOP job's time goes in the kernel (ftrace of the C loop, ${kt.timeline.jobs} jobs; traced, so slower than above), µs p50`, '');
    for (const st of kt.timeline.steps) lines.push(`  ${st.p50Us.toFixed(1).padStart(7)}  ${st.step}`);
    lines.push('', `  SUBMIT ioctl by callee (function_graph, ${kt.submit.ioctls} calls, ossa_submit_ioctl p50 ${kt.submit.p50Us.toFixed(1)} µs)`);
    for (const c of kt.submit.callees.slice(0, 10)) {
      lines.push(`  ${(c.share * 100).toFixed(1).padStart(5)}%  ${(c.totalUs / Math.max(1, kt.submit.ioctls)).toFixed(1).padStart(6)} µs/ioctl  ${c.name} (${c.calls} calls)`);
    }
  }
  const io = data.ioctl;
  lines.push('', 'cost per ioctl, ns (TypeScript library / bare binding call / C loop; medians of rounds)', '');
  lines.push(`GET_PARAM   TS ${io?.tsGetParamNs.toFixed(0) ?? 'n/a'}  binding ${io?.bindingGetParamNs.toFixed(0) ?? 'n/a'}  C ${io?.cGetParamNs.toFixed(0) ?? 'n/a'}  TS/C ${ratio(io?.tsGetParamNs, io?.cGetParamNs)}  binding/C ${ratio(io?.bindingGetParamNs, io?.cGetParamNs)}`);
  lines.push(`VERSION     TS ${io?.tsVersionNs.toFixed(0) ?? 'n/a'}  binding ${io?.bindingVersionNs.toFixed(0) ?? 'n/a'}  C ${io?.cVersionNs.toFixed(0) ?? 'n/a'}  TS/C ${ratio(io?.tsVersionNs, io?.cVersionNs)}  binding/C ${ratio(io?.bindingVersionNs, io?.cVersionNs)}`);
  lines.push('', 'jobs per second (NOP, both queues)', '');
  for (const j of data.jobs?.rows ?? []) lines.push(`${String(j.inFlight).padStart(3)} in flight: ${j.jobsPerSecond.toFixed(0)}   ×${ratio(j.jobsPerSecond, jobsAt(1)).replace(/x$/, '')} of 1 in flight`);
  const jr = data.journey;
  if (jr) {
    const clock = jr.clockUncertaintyNs === null ? `device events ${jr.deviceEvents}` : `device clock within ±${(jr.clockUncertaintyNs / 1000).toFixed(1)} µs`;
    lines.push('', `where a job's time goes with ${jr.inFlight} in flight (ossa trace: ${jr.complete} of ${jr.jobs} jobs seen on every side, ${clock}; traced, so slower), µs p50`, '');
    for (const st of jr.steps.steps) lines.push(`  ${st.p50Us.toFixed(1).padStart(8)}  ${st.step}`);
    lines.push(`  device busy: ${jr.steps.deviceBusy.map((b) => `queue ${b.queue} ${(100 * b.share).toFixed(0)}%`).join(', ')}`);
  }
  const prof = data['submit-profile'];
  if (prof) {
    lines.push('', `CPU profile of 350 NOP submits in the guest (node --cpu-prof; self time, ${(prof.totalUs / 1000).toFixed(0)} ms in all)`, '');
    for (const t of prof.top) lines.push(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${(t.selfUs / 1000).toFixed(1).padStart(7)} ms  ${t.where}`);
  }
  lines.push('', 'the same device, three ways (docs/userspace-drivers.md): NOP round trip and COPY end to end (submit to completion), medians', '');
  lines.push(`${'model'.padEnd(34)} ${'IOMMU'.padEnd(12)} ${'NOP µs'.padStart(8)} ${MODEL_SIZES.map((z) => `COPY ${sizeLabel(z)}`.padStart(13)).join(' ')}`);
  for (const m of models) {
    const at = (z: number): string => gb(m.copy?.find((r) => r.size === z)?.endToEndGBps);
    lines.push(`${m.model.padEnd(34)} ${m.iommu.padEnd(12)} ${us(m.nopP50Ns).padStart(8)} ${MODEL_SIZES.map((z) => `${at(z)} GB/s`.padStart(13)).join(' ')}`);
  }
  const ud = [data['userspace-driver'], iommuData['userspace-driver']];
  lines.push(`  userspace drivers: ${ud.map((u) => (u === undefined ? 'n/a' : 'via' in u ? `${u.via} COPY verified ${u.copy.verified}` : `skipped (${u.skipped})`)).join(', ')}`);
  lines.push('', `guest memcpy 64 MiB: ${gb(data['guest-memcpy']?.GBps)} GB/s`);
  lines.push(`boot to /init ${run.timings.toInit?.toFixed(1) ?? 'n/a'} s, to first measurement ${run.timings.toFirstTest?.toFixed(1) ?? 'n/a'} s (${run.accel.toUpperCase()})`);
  lines.push(`last conformance run: boot to first test ${conformance?.toFirstTest?.toFixed(1) ?? 'n/a'} s, whole run ${conformance?.total?.toFixed(1) ?? 'n/a'} s`);
  if (conformance?.steps?.length) lines.push('  its start-up, host clock from QEMU start:', ...startupLines(conformance.steps).map((l) => `  ${l}`));
  lines.push(
    `builds: cold ${builds.coldTotal === null ? 'n/a (not recorded for every part)' : `${builds.coldTotal.toFixed(0)} s`} ` +
      `(${Object.entries(builds.cold).map(([k, v]) => `${k} ${v === null ? '?' : v.toFixed(1)}`).join(', ')}), cached ${builds.cachedSeconds.toFixed(1)} s`,
  );
  lines.push('', 'goals');
  for (const [k, g] of Object.entries(goals)) {
    const v = targets[k as keyof typeof targets];
    lines.push(`  ${g.holds ? 'holds ' : 'misses'} ${k} = ${v === null ? 'n/a' : v.toFixed(2)} (goal ${g.goal})`);
  }
  for (const e of errors) lines.push('', `ERROR ${e.message}`);
  if (failure) lines.push('', `FAILED: ${failure}`);
  lines.push('', `written: ${join(outDir, 'bench.json')}, ${join(outDir, 'bench.svg')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = failure || errors.length ? 1 : 0;
}

await main();
