/**
 * A job's journey, assembled from the three sides of a trace: the library's
 * spans (spans.ts), the guest kernel's events (kernel-events.ts) and the
 * device's (device-events.ts), all on the guest's CLOCK_MONOTONIC. Jobs are
 * keyed by drm_sched: its job id (Linux 6.12) or its fence's context:seqno
 * (later kernels); the device's jobs are drm_sched's, queue by queue, in
 * the order drm_sched ran them.
 */
import * as drm from '../drm.js';
import * as uapi from '../uapi.js';
import type { DeviceEvent } from './device-events.js';
import type { KernelEvent, SchedEventNames } from './kernel-events.js';
import type { Span, SpanFile } from './spans.js';

export interface Interval {
  begin: number;
  end: number;
}

/** An ioctl, from the kernel's system-call events. */
export interface Ioctl extends Interval {
  tid: number;
  pid: number | undefined;
  task: string;
  cmd: number;
  name: string;
  ret: number | undefined;
}

/** One job, with what each side saw of it (ns, CLOCK_MONOTONIC). */
export interface Job {
  key: string;
  queue: number;
  /** The task that queued it (the submitting thread). */
  tid: number;
  pid: number | undefined;
  queued: number;
  run?: number;
  done?: number;
  /** The CPU its done event was on (where its fence was signalled). */
  doneCpu?: number;
  ioctl?: Ioctl;
  submit?: Span & { pid: number };
  wait?: Span & { pid: number };
  doorbell?: number;
  deviceStart?: number;
  deviceEnd?: number;
  deviceStatus?: number;
  deviceIrq?: number;
  irq?: Interval & { name: string };
}

const IOCTL_NAMES = new Map<number, string>(
  [...Object.entries(drm), ...Object.entries(uapi)]
    .filter((e): e is [string, number] => e[0].startsWith('DRM_IOCTL_') && typeof e[1] === 'number')
    .map(([name, value]) => [value >>> 0, name]),
);

export function ioctlName(cmd: number): string {
  return IOCTL_NAMES.get(cmd >>> 0) ?? `ioctl 0x${(cmd >>> 0).toString(16)}`;
}

/** ioctls from raw_syscalls sys_enter ("NR 16 (fd, cmd, arg, ...)") and sys_exit ("NR 16 = ret"), per thread. */
export function ioctls(events: readonly KernelEvent[]): Ioctl[] {
  const open = new Map<number, Ioctl>();
  const out: Ioctl[] = [];
  for (const e of events) {
    if (e.name === 'sys_enter') {
      const cmd = /^NR 16 \(\w+, (\w+)/.exec(e.details)?.[1];
      if (cmd === undefined) continue;
      const c = Number.parseInt(cmd, 16);
      open.set(e.tid, { tid: e.tid, pid: e.pid, task: e.task, begin: e.ts, end: e.ts, cmd: c, name: ioctlName(c), ret: undefined });
    } else if (e.name === 'sys_exit') {
      const i = open.get(e.tid);
      if (!i) continue;
      open.delete(e.tid);
      const ret = /= (-?\d+)/.exec(e.details)?.[1];
      out.push({ ...i, end: e.ts, ret: ret === undefined ? undefined : Number(ret) });
    }
  }
  return out;
}

const field = (details: string, name: string): string | undefined => new RegExp(`\\b${name}=([^,\\s]+)`).exec(details)?.[1];

/**
 * drm_sched's jobs on ossa's rings ("ossa-qN"), with their queued, run and
 * done times. Linux 6.12 numbers jobs per scheduler (ring) and names a done
 * job by its fence's address only; later kernels name every event's job by
 * its fence's context:seqno.
 */
export function schedJobs(events: readonly KernelEvent[], names: SchedEventNames): Job[] {
  const jobs = new Map<string, Job & { fence?: string }>();
  const keyOf = (details: string): string | undefined => {
    const id = field(details, 'id');
    return id === undefined ? field(details, 'fence') : `${field(details, 'ring') ?? '?'}/${id}`;
  };
  // Jobs run and not yet done, by the fence their run event named.
  const running = new Map<string, Job>();
  for (const e of events) {
    if (e.name === names.queued) {
      const ring = field(e.details, 'ring');
      const key = keyOf(e.details);
      const q = ring === undefined ? undefined : /^ossa-q(\d+)$/.exec(ring)?.[1];
      if (key === undefined || q === undefined) continue;
      jobs.set(key, { key, queue: Number(q), tid: e.tid, pid: e.pid, queued: e.ts });
    } else if (e.name === names.run) {
      const job = jobs.get(keyOf(e.details) ?? '');
      const fence = field(e.details, 'fence');
      if (!job || job.run !== undefined || fence === undefined) continue;
      job.run = e.ts;
      running.set(fence, job);
    } else if (e.name === names.done) {
      const fence = field(e.details, 'fence') ?? '';
      const job = running.get(fence);
      if (!job) continue;
      // A fence's address is reused once its job is freed.
      running.delete(fence);
      job.done = e.ts;
      job.doneCpu = e.cpu;
    }
  }
  return [...jobs.values()];
}

/** The entries and exits of ossa's interrupt handlers ("ossa", or "ossa-qN" with MSI-X), per CPU. */
function handlerRuns(kernel: readonly KernelEvent[]): Array<{ cpu: number; name: string; begin: number; end: number }> {
  const open = new Map<string, { cpu: number; name: string; begin: number }>();
  const runs: Array<{ cpu: number; name: string; begin: number; end: number }> = [];
  for (const e of kernel) {
    const irq = field(e.details, 'irq');
    if (e.name === 'irq_handler_entry') {
      const name = field(e.details, 'name') ?? '';
      if (/^ossa/.test(name)) open.set(`${e.cpu}/${irq}`, { cpu: e.cpu, name, begin: e.ts });
    } else if (e.name === 'irq_handler_exit') {
      const run = open.get(`${e.cpu}/${irq}`);
      if (!run) continue;
      open.delete(`${e.cpu}/${irq}`);
      runs.push({ ...run, end: e.ts });
    }
  }
  return runs;
}

/**
 * Places everything else on the jobs: the SUBMIT ioctl around each job's
 * queued event, the library's submit and wait spans, the interrupt handler
 * that signalled the job's fence (on that CPU, around that moment), and the
 * device's doorbell, run and interrupt (host times through `toGuest`).
 * `slackNs` is how far the clock sync may place a host event off.
 */
export function assembleJourneys(
  jobs: Job[],
  kernel: readonly KernelEvent[],
  device: readonly DeviceEvent[] | undefined,
  toGuest: ((hostTs: number) => number) | undefined,
  slackNs: number,
  spanFiles: readonly SpanFile[],
): { jobs: Job[]; ioctls: Ioctl[] } {
  const calls = ioctls(kernel);
  const callsOf = new Map<number, Ioctl[]>();
  for (const c of calls) callsOf.set(c.tid, [...(callsOf.get(c.tid) ?? []), c]);
  const handlers = handlerRuns(kernel);
  for (const job of jobs) {
    job.ioctl = callsOf.get(job.tid)?.find((c) => c.begin <= job.queued && job.queued <= c.end);
    job.pid ??= job.ioctl?.pid;
    for (const f of spanFiles) {
      if (job.pid !== undefined && f.pid !== job.pid) continue;
      const submit = f.spans.find((s) => s.kind === 'submit' && s.begin <= job.queued && job.queued <= s.end && (s.thread !== 0 || job.tid === f.pid));
      if (!submit) continue;
      job.submit = { ...submit, pid: f.pid };
      const wait = f.spans.find((s) => s.kind === 'wait' && s.seq === submit.seq && s.thread === submit.thread);
      if (wait) job.wait = { ...wait, pid: f.pid };
    }
    const done = job.done;
    const run = job.run;
    if (done !== undefined && run !== undefined) {
      // Mostly the handler signals the fence. When the job ended before
      // drm_sched's worker added its callback to the driver's fence, the
      // worker signals it instead (drm_sched_run_job_work(), -ENOENT): then
      // the job's interrupt is the last of its queue's vector before that.
      const inside = handlers.filter((h) => h.cpu === job.doneCpu && h.begin <= done && done <= h.end);
      const ours = (h: { name: string }): boolean => h.name === `ossa-q${job.queue}` || h.name === 'ossa';
      const h =
        inside.find((r) => r.name === `ossa-q${job.queue}`) ?? inside[0] ?? handlers.filter((r) => ours(r) && r.begin >= run && r.end <= done).at(-1);
      if (h) job.irq = { begin: h.begin, end: h.end, name: h.name };
    }
  }
  if (device && toGuest) placeDeviceEvents(jobs, device, toGuest, slackNs);
  return { jobs, ioctls: calls };
}

/**
 * The device's jobs, queue by queue, in the order drm_sched ran them: the
 * device runs a queue's jobs in ring order. Device jobs that started before
 * the first traced run on that queue (a job queued before the trace began)
 * are not drm_sched's traced jobs and are left out. The doorbell is the
 * first that rang for the job's ring slot (tail past it) since the slot's
 * previous use; the interrupt, the first of the queue's cause after the end.
 */
function placeDeviceEvents(jobs: Job[], device: readonly DeviceEvent[], toGuest: (hostTs: number) => number, slackNs: number): void {
  for (const q of new Set(jobs.map((j) => j.queue))) {
    const ran = jobs.filter((j) => j.queue === q && j.run !== undefined).sort((a, b) => (a.run as number) - (b.run as number));
    const firstRun = ran[0]?.run;
    if (firstRun === undefined) continue;
    const onQueue = device.filter((e) => e.args.queue === q);
    const starts = onQueue.filter((e) => e.name === 'ossa_job_start' && toGuest(e.hostTs) >= firstRun - slackNs);
    const irqs = device.filter((e) => e.name === 'ossa_irq' && ((e.args.cause ?? 0) & (1 << q)) !== 0);
    ran.forEach((job, k) => {
      const start = starts[k];
      if (!start) return;
      const slot = start.args.job ?? -1;
      const end = onQueue.find((e) => e.name === 'ossa_job_end' && e.args.job === slot && e.hostTs >= start.hostTs);
      // The slot's previous use: an earlier start of a job in a slot at or past this one (the ring's last lap).
      const lap = onQueue.filter((e) => e.name === 'ossa_job_start' && e.hostTs < start.hostTs && (e.args.job ?? -1) >= slot).at(-1);
      const doorbell = onQueue.find(
        (e) => e.name === 'ossa_queue_doorbell' && e.hostTs <= start.hostTs && (!lap || e.hostTs > lap.hostTs) && (e.args.tail ?? 0) > slot,
      );
      const irq = end ? irqs.find((e) => e.hostTs >= end.hostTs) : undefined;
      job.deviceStart = toGuest(start.hostTs);
      if (end) {
        job.deviceEnd = toGuest(end.hostTs);
        if (end.args.status !== undefined) job.deviceStatus = end.args.status;
      }
      if (doorbell) job.doorbell = toGuest(doorbell.hostTs);
      if (irq) job.deviceIrq = toGuest(irq.hostTs);
    });
  }
}
