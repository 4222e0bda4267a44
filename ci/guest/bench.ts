/**
 * The guest side of `npm run bench`, started by /init with ossa.mode=bench:
 * measures the device, the driver and the library, and the NVMe peer,
 * and sends each measurement to the host as a `bench` message.
 *
 * usage: node bench.js PORT_DEVICE
 *
 * ossa.bench=a,b on the kernel's command line runs only those
 * measurements (the host's second boot, behind a vIOMMU, runs three).
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { CommandStream, Device, type Fence, type JobSpec } from '../../userspace/src/index.js';
import { Struct } from '../../userspace/src/struct.js';
import { DRM_IOCTL_VERSION, DrmVersion } from '../../userspace/src/drm.js';
import { native } from '../../userspace/src/native.js';
import { DRM_IOCTL_OSSA_GET_PARAM, DrmOssaGetParam, Param } from '../../userspace/src/uapi.js';
import { iommuGroup, OssaUserDriver, ossaFunctions } from '../../userspace/src/userspace-driver/index.js';
import { giveBackToKernel, handToUserspace, missingModules } from '../../userspace/tests/guest/support/userspace-driver.js';
import type { GuestMessage } from '../lib/protocol.js';
import { traceNopJobs } from './kernel-trace.js';
import { median, percentile } from './stats.js';

const portPath = process.argv[2];
if (!portPath) {
  process.stderr.write('usage: bench.js PORT_DEVICE\n');
  process.exit(2);
}
const port = openSync(portPath, 'w');
const send = (m: GuestMessage): void => {
  writeSync(port, `${JSON.stringify(m)}\n`);
};
const report = (name: string, data: unknown): void => send({ type: 'bench', name, data });

const SIZES = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20];
const WAIT_MS = 60_000;
/**
 * Rounds of a library loop run before it is measured: the steady state is
 * the path V8 has optimised, which takes it about 1500 calls here (in one
 * run under TCG, enqueue()'s p50 was 530 µs over the first 1500 calls and
 * 190-260 µs in each 500 after).
 */
const WARM_UP = 2000;

const nowNs = (): number => Number(process.hrtime.bigint());

async function settle(f: Fence): Promise<void> {
  const s = await f.settle(WAIT_MS);
  if (s.state !== 'signaled') throw new Error(`job ${JSON.stringify(s)}`);
}

/** Device COPY: time between TIMESTAMPs around it (device) and submit to fence (end to end). */
async function copyThroughput(dev: Device): Promise<void> {
  const max = SIZES[SIZES.length - 1] as number;
  using src = dev.createBuffer(max);
  using dst = dev.createBuffer(max);
  using ts = dev.createBuffer(4096);
  randomFillSync(src.map());
  dst.map().fill(1); // fault the pages in before timing
  const rows = [];
  for (const size of SIZES) {
    const reps = size <= 1 << 20 ? 15 : size <= 16 << 20 ? 5 : 3;
    const device: number[] = [];
    const e2e: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = nowNs();
      using f = dev.submit({
        commands: new CommandStream().timestamp(ts.va).copy(src.va, dst.va, size).timestamp(ts.va + 8n),
        buffers: [{ buffer: src, access: 'read' }, dst, ts],
      });
      await settle(f);
      e2e.push(nowNs() - t0);
      const v = Buffer.from(ts.map());
      device.push(Number(v.readBigUInt64LE(8) - v.readBigUInt64LE(0)));
    }
    const dNs = median(device);
    const eNs = median(e2e);
    rows.push({ size, reps, deviceNs: dNs, endToEndNs: eNs, deviceGBps: size / dNs, endToEndGBps: size / eNs });
  }
  const check = Buffer.compare(Buffer.from(src.map().subarray(0, 4096)), Buffer.from(dst.map().subarray(0, 4096))) === 0;
  report('copy', { rows, verified: check });
}

/** NOP job: submit to completion, through the library. */
async function nopLatency(dev: Device): Promise<void> {
  using bo = dev.createBuffer(4096);
  const samples: number[] = [];
  const submitCall: number[] = [];
  for (let i = 0; i < WARM_UP; i++) {
    using f = dev.submit({ commands: new CommandStream().nop(), buffers: [bo] });
    await settle(f);
  }
  for (let i = 0; i < 300; i++) {
    const t0 = nowNs();
    using f = dev.submit({ commands: new CommandStream().nop(), buffers: [bo] });
    submitCall.push(nowNs() - t0);
    await settle(f);
    samples.push(nowNs() - t0);
  }
  // Where the time goes: the submit call (library and SUBMIT ioctl) and
  // the wait for the fence (scheduler, device, interrupt, wake-up).
  report('nop', {
    samples: samples.length,
    p50Ns: percentile(samples, 50),
    p99Ns: percentile(samples, 99),
    submitCallP50Ns: percentile(submitCall, 50),
    waitP50Ns: percentile(samples.map((t, i) => t - (submitCall[i] ?? 0)), 50),
  });
}

/**
 * The NOP round trip in the library's hot-loop form: one JobSpec, one
 * CommandStream and one Syncobj reused, Device.enqueue() (one SUBMIT,
 * nothing allocated) and Syncobj.wait() (a sync_file polled on the loop).
 */
async function nopHot(dev: Device): Promise<void> {
  using bo = dev.createBuffer(4096);
  using done = dev.createSyncobj();
  const job: JobSpec = { commands: new CommandStream().nop(), buffers: [bo], signal: done };
  const samples: number[] = [];
  const submitCall: number[] = [];
  for (let i = 0; i < WARM_UP + 300; i++) {
    const t0 = nowNs();
    dev.enqueue(job);
    const t1 = nowNs();
    if (!(await done.wait(WAIT_MS))) throw new Error('NOP job did not finish');
    if (i >= WARM_UP) {
      submitCall.push(t1 - t0);
      samples.push(nowNs() - t0);
    }
  }
  report('nop-hot', {
    samples: samples.length,
    p50Ns: percentile(samples, 50),
    p99Ns: percentile(samples, 99),
    submitCallP50Ns: percentile(submitCall, 50),
  });
}

/**
 * What one submission costs the library: the ioctls it issues (the
 * kernel's syscall trace) and the JavaScript heap it allocates (heapUsed across
 * 200 submissions with no garbage collection among them), for
 * Device.enqueue() in its hot-loop form and for Device.submit().
 */
async function submitCost(dev: Device): Promise<void> {
  using bo = dev.createBuffer(4096);
  using done = dev.createSyncobj();
  const job: JobSpec = { commands: new CommandStream().nop(), buffers: [bo], signal: done };
  const plain: JobSpec = { commands: job.commands, buffers: [bo] };
  const n = 200;
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  const fences: Fence[] = [];
  const run = async (form: 'enqueue' | 'submit'): Promise<{ ioctls: number; bytes: number | null }> => {
    const once = (): void => {
      if (form === 'enqueue') dev.enqueue(job);
      else fences.push(dev.submit(plain));
    };
    const drain = async (): Promise<void> => {
      if (form === 'enqueue') await done.wait(WAIT_MS);
      for (const f of fences.splice(0)) {
        await settle(f);
        f.close();
      }
    };
    // warm-up: the JIT, the ring, the pool
    for (let w = 0; w < WARM_UP; w += n) {
      for (let i = 0; i < n; i++) once();
      await drain();
    }
    // ioctls, from the kernel's syscall trace of this process
    const ioctls = ioctlsDuring(() => {
      for (let i = 0; i < n; i++) once();
    });
    await drain();
    // bytes: heapUsed across n submissions, retried when a GC fell among them
    let bytes: number | null = null;
    for (let attempt = 0; attempt < 5 && bytes === null; attempt++) {
      await new Promise((r) => setTimeout(r, 20)); // observer entries of earlier GCs arrive
      const seen = gcs;
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < n; i++) once();
      const after = process.memoryUsage().heapUsed;
      await drain();
      await new Promise((r) => setTimeout(r, 20));
      if (gcs === seen) bytes = Math.max(0, after - before) / n;
    }
    return { ioctls: ioctls / n, bytes };
  };
  const enqueue = await run('enqueue');
  const submit = await run('submit');
  obs.disconnect();
  report('submit-cost', { submissions: n, enqueue, submit });
}

/** How many ioctls this process issues while `fn` runs, from tracefs (sys_enter_ioctl). */
function ioctlsDuring(fn: () => void): number {
  const tracing = '/sys/kernel/tracing';
  const event = `${tracing}/events/syscalls/sys_enter_ioctl`;
  writeFileSync(`${event}/filter`, `common_pid == ${process.pid}`);
  writeFileSync(`${event}/enable`, '1');
  writeFileSync(`${tracing}/tracing_on`, '1');
  writeFileSync(`${tracing}/trace`, '');
  try {
    fn();
  } finally {
    writeFileSync(`${event}/enable`, '0');
    writeFileSync(`${event}/filter`, '0');
  }
  return readFileSync(`${tracing}/trace`, 'utf8')
    .split('\n')
    .filter((l) => l.includes('sys_ioctl(')).length;
}

/** Jobs per second with N in flight. */
async function throughputInFlight(dev: Device): Promise<void> {
  using bo = dev.createBuffer(4096);
  const rows = [];
  const run = async (inFlight: number, total: number): Promise<number> => {
    let submitted = 0;
    const t0 = nowNs();
    const lane = async (): Promise<void> => {
      while (submitted < total) {
        submitted++;
        using f = dev.submit({ queue: submitted % 2, commands: new CommandStream().nop(), buffers: [{ buffer: bo, access: 'read' }] });
        await settle(f);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return (nowNs() - t0) / 1e9;
  };
  await run(16, WARM_UP);
  for (const inFlight of [1, 4, 16]) {
    const total = 240;
    rows.push({ inFlight, jobs: total, jobsPerSecond: total / (await run(inFlight, total)) });
  }
  report('jobs', { rows });
}

/**
 * Where a job's time goes with 16 in flight: the jobs benchmark's
 * workload in a process of its own, under `ossa trace` (library, kernel
 * and device on one clock): each step's median and each queue's busy
 * share. Traced, so slower than the untraced figures.
 */
function journey(): void {
  const script = `
    const { CommandStream, Device } = await import(process.env.OSSA_LIB);
    const dev = Device.open();
    const bo = dev.createBuffer(4096);
    let submitted = 0;
    const lane = async () => {
      while (submitted < 240) {
        submitted++;
        const f = dev.submit({ queue: submitted % 2, commands: new CommandStream().nop(), buffers: [{ buffer: bo, access: 'read' }] });
        const s = await f.settle(${WAIT_MS});
        if (s.state !== 'signaled') throw new Error(JSON.stringify(s));
        f.close();
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    bo.close();
    dev.close();`;
  const out = execFileSync('/bin/ossa', ['trace', '--json', '-o', '/tmp/bench-journey.json', '--', process.execPath, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, OSSA_LIB: new URL('../../userspace/src/index.js', import.meta.url).href },
  });
  const r = JSON.parse(out) as { jobs: number; complete: number; clockUncertaintyNs: number | null; deviceEvents: string; steps: unknown };
  report('journey', { inFlight: 16, jobs: r.jobs, complete: r.complete, clockUncertaintyNs: r.clockUncertaintyNs, deviceEvents: r.deviceEvents, steps: r.steps });
}

/**
 * Cost per ioctl: the library, the bare binding call (the floor for any
 * N-API binding) and the C loop (the floor), in alternating rounds so that
 * JIT compilation and noise fall on all of them alike; medians of rounds.
 */
function ioctlCost(dev: Device): void {
  const n = 5000;
  const rounds = 5;
  const v = new Struct(DrmVersion);
  const p = new Struct(DrmOssaGetParam);
  const fd = dev.fd;
  const bind = native();
  const loops: Record<string, () => void> = {
    tsGetParamNs: () => {
      dev.param('numQueues');
    },
    bindingGetParamNs: () => {
      p.bytes.fill(0);
      p.set('param', Param.numQueues);
      bind.ioctl(fd, DRM_IOCTL_OSSA_GET_PARAM, p.bytes);
    },
    tsVersionNs: () => {
      v.bytes.fill(0);
      dev.ioctl('DRM_IOCTL_VERSION', DRM_IOCTL_VERSION, v.bytes);
    },
    bindingVersionNs: () => {
      v.bytes.fill(0);
      bind.ioctl(fd, DRM_IOCTL_VERSION, v.bytes);
    },
  };
  const samples: Record<string, number[]> = {};
  const time = (f: () => void): number => {
    const t0 = nowNs();
    for (let i = 0; i < n; i++) f();
    return (nowNs() - t0) / n;
  };
  // Warm up first: under TCG the JIT compiling these paths takes long.
  for (const f of Object.values(loops)) time(f);
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(loops)) (samples[name] ??= []).push(time(f));
    const c = JSON.parse(execFileSync('/ossa/bench/ioctl-loop', [dev.path, String(n)], { encoding: 'utf8' })) as {
      version_ns: number;
      get_param_ns: number;
    };
    (samples.cGetParamNs ??= []).push(c.get_param_ns);
    (samples.cVersionNs ??= []).push(c.version_ns);
  }
  report('ioctl', {
    iterations: n,
    rounds,
    ...Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)])),
  });
}

/** The floor of the NOP round trip: the same job from C, one at a time. */
function nopFloor(dev: Device): void {
  report('nop-c', JSON.parse(execFileSync('/ossa/bench/nop-loop', [dev.path, '300'], { encoding: 'utf8' })) as unknown);
}

/** Where the NOP round trip goes in the kernel (ftrace), for the C loop. */
function kernelTrace(dev: Device): void {
  const t = traceNopJobs(dev.path);
  if (!t) throw new Error('no tracefs at /sys/kernel/tracing');
  report('kernel-trace', t);
}

/** The NVMe peer: O_DIRECT reads, one request at a time. */
async function nvme(): Promise<void> {
  const node = '/dev/nvme0n1';
  for (let i = 0; i < 100 && !existsSync(node); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(node)) {
    report('nvme', { error: `${node} did not appear` });
    return;
  }
  const read = (request: number, total: number): { seconds: number; bytes: number; latencies_ns: number[] } =>
    JSON.parse(execFileSync('/ossa/bench/nvme-read', [node, String(request), String(total)], { encoding: 'utf8' })) as {
      seconds: number;
      bytes: number;
      latencies_ns: number[];
    };
  read(1 << 20, 16 << 20); // warm up
  const rows = SIZES.map((size) => {
    const request = Math.min(size, 1 << 20);
    const reps = size <= 1 << 20 ? 15 : 3;
    const times: number[] = [];
    for (let r = 0; r < reps; r++) times.push(read(request, size).seconds);
    const secs = median(times);
    return { size, request, seconds: secs, GBps: size / secs / 1e9 };
  });
  const lat = read(4096, 4096 * 1000).latencies_ns;
  report('nvme', { rows, latency4k: { samples: lat.length, p50Ns: percentile(lat, 50), p99Ns: percentile(lat, 99) } });
}

/**
 * Where the submit path's CPU time goes: a NOP loop under node --cpu-prof,
 * self time by function (the native ioctl call includes its time in the
 * kernel).
 */
function submitProfile(): void {
  const dir = mkdtempSync(join(tmpdir(), 'ossa-prof-'));
  execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, new URL('./submit-loop.js', import.meta.url).pathname], {
    stdio: 'ignore',
  });
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('node --cpu-prof wrote no profile');
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const cf = byId.get(id);
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    const where = cf ? `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/ossa\//, '')}:${cf.lineNumber + 1}` : '?';
    self.set(where, (self.get(where) ?? 0) + dt);
  });
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([where, us]) => ({ where, selfUs: us, share: us / total }));
  report('submit-profile', { totalUs: total, top });
}

/**
 * The same device driven from userspace (docs/userspace-drivers.md), with
 * the kernel driver unbound: a NOP job's round trip and COPY end to end
 * (doorbell to interrupt), and the device's own COPY time between
 * TIMESTAMPs, over VFIO behind an IOMMU or over UIO without one.
 */
async function userspaceDriver(): Promise<void> {
  const bdf = ossaFunctions()[0];
  if (!bdf) throw new Error('no ossa function on the PCI bus');
  const missing = missingModules(iommuGroup(bdf) !== undefined ? 'vfio' : 'uio');
  if (missing.length) {
    report('userspace-driver', { skipped: `the guest kernel has no ${missing.join(', ')} module` });
    return;
  }
  const via = await handToUserspace(bdf);
  try {
    using drv = OssaUserDriver.open({ bdf, via, bufferBytes: 9 << 20 });
    const nop = new CommandStream().nop().toBuffer();
    const samples: number[] = [];
    for (let i = 0; i < WARM_UP + 300; i++) {
      const t0 = nowNs();
      const r = await drv.run(nop);
      if (r.status !== 0) throw new Error(`NOP job ended ${r.statusName}`);
      if (i >= WARM_UP) samples.push(nowNs() - t0);
    }
    const max = 4 << 20;
    const src = drv.buffer(max);
    const dst = drv.buffer(max);
    const ts = drv.buffer(16);
    randomFillSync(src.bytes);
    const stamps = new DataView(ts.bytes.buffer, ts.bytes.byteOffset, 16);
    const rows = [];
    for (const size of SIZES.filter((s) => s <= max)) {
      const job = new CommandStream().timestamp(ts.va).copy(src.va, dst.va, size).timestamp(ts.va + 8n).toBuffer();
      const device: number[] = [];
      const e2e: number[] = [];
      for (let r = 0; r < 15; r++) {
        const t0 = nowNs();
        const res = await drv.run(job);
        e2e.push(nowNs() - t0);
        if (res.status !== 0) throw new Error(`COPY of ${size} bytes ended ${res.statusName}`);
        device.push(Number(stamps.getBigUint64(8, true) - stamps.getBigUint64(0, true)));
      }
      rows.push({ size, deviceGBps: size / median(device), endToEndGBps: size / median(e2e) });
    }
    const verified = Buffer.compare(Buffer.from(src.bytes), Buffer.from(dst.bytes)) === 0;
    report('userspace-driver', {
      via,
      isolated: drv.isolated,
      nop: { samples: samples.length, p50Ns: percentile(samples, 50), p99Ns: percentile(samples, 99) },
      copy: { rows, verified },
    });
  } finally {
    await giveBackToKernel(bdf);
  }
}

/** Guest memcpy, for scale. */
function guestMemcpy(): void {
  const a = Buffer.alloc(64 << 20, 1);
  const b = Buffer.alloc(64 << 20, 2);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = nowNs();
    a.copy(b);
    times.push(nowNs() - t0);
  }
  report('guest-memcpy', { size: 64 << 20, GBps: (64 << 20) / median(times) });
}

send({ type: 'phase', name: 'node process start', ago: process.uptime() });
send({ type: 'suite-start', uptime: process.uptime(), files: 0 });
let failed = 0;
const only = /(?:^|\s)ossa\.bench=([\w,-]+)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1]?.split(',');
const chosen = (name: string): boolean => !only || only.includes(name);
const step = async (name: string, fn: () => Promise<void> | void): Promise<void> => {
  if (!chosen(name)) return;
  try {
    await fn();
  } catch (err) {
    failed++;
    send({ type: 'error', message: `benchmark ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` });
  }
};
try {
  {
    using dev: Device = Device.open();
    const steps: Array<[string, () => Promise<void> | void]> = [
      ['ioctl', () => ioctlCost(dev)],
      ['nop', () => nopLatency(dev)],
      ['nop-hot', () => nopHot(dev)],
      ['submit-cost', () => submitCost(dev)],
      ['nop-c', () => nopFloor(dev)],
      ['kernel-trace', () => kernelTrace(dev)],
      ['jobs', () => throughputInFlight(dev)],
      ['journey', () => journey()],
      ['copy', () => copyThroughput(dev)],
      ['nvme', () => nvme()],
      ['guest-memcpy', () => guestMemcpy()],
      ['submit-profile', () => submitProfile()],
    ];
    for (const [name, fn] of steps) await step(name, fn);
  }
  // Last, with the kernel driver's file closed: the device leaves it meanwhile.
  await step('userspace-driver', () => userspaceDriver());
} catch (err) {
  failed++;
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
send({ type: 'suite-end', uptime: process.uptime(), passed: 0, failed, skipped: 0 });
