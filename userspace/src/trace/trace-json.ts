/**
 * A trace as Chrome's JSON trace format (the Trace Event Format), which
 * the Perfetto UI (ui.perfetto.dev) and chrome://tracing open: complete
 * events ("X") with microsecond times, instant events ("i"), and a flow
 * ("s", "t", "f") that links each job's steps across tracks. Every event of
 * a job carries args.job, its drm_sched key.
 */
import type { Ioctl, Job } from './journey.js';
import type { SpanFile } from './spans.js';

export interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 'M' | 's' | 't' | 'f';
  pid: number;
  tid: number;
  /** Microseconds, CLOCK_MONOTONIC. */
  ts?: number;
  dur?: number;
  s?: 'g' | 'p' | 't';
  id?: number;
  bp?: 'e';
  cat?: string;
  args?: Record<string, string | number | undefined>;
}

export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns';
  otherData: Record<string, string | number | boolean | null>;
}

/** Process ids of the tracks that are not a process of the guest. */
export const KERNEL_PID = 1_000_000;
export const DEVICE_PID = 1_000_001;
/** Thread ids in the kernel's and the device's tracks. */
const ringTid = (q: number): number => 100 + q;
const IRQ_TID = 200;
const queueTid = (q: number): number => 300 + q;
const DEVICE_IRQ_TID = 399;

const us = (ns: number): number => ns / 1000;

/** The track of a library span's thread: the main thread's tid is the pid; a Worker's kernel tid is not recorded. */
const spanTid = (pid: number, thread: number): number => (thread === 0 ? pid : 5_000_000 + thread);

export function traceJson(
  jobs: readonly Job[],
  calls: readonly Ioctl[],
  spanFiles: readonly SpanFile[],
  otherData: TraceFile['otherData'],
): TraceFile {
  const ev: TraceEvent[] = [];
  const meta = (pid: number, tid: number | undefined, name: string): void => {
    ev.push(tid === undefined ? { name: 'process_name', ph: 'M', pid, tid: 0, args: { name } } : { name: 'thread_name', ph: 'M', pid, tid, args: { name } });
  };
  const span = (name: string, pid: number, tid: number, i: { begin: number; end: number }, args: TraceEvent['args'] = {}): void => {
    ev.push({ name, ph: 'X', pid, tid, ts: us(i.begin), dur: us(Math.max(0, i.end - i.begin)), args });
  };
  const instant = (name: string, pid: number, tid: number, t: number, args: TraceEvent['args'] = {}): void => {
    ev.push({ name, ph: 'i', s: 't', pid, tid, ts: us(t), args });
  };

  meta(KERNEL_PID, undefined, 'guest kernel');
  meta(DEVICE_PID, undefined, 'ossa device (QEMU)');
  meta(KERNEL_PID, IRQ_TID, 'interrupts');
  meta(DEVICE_PID, DEVICE_IRQ_TID, 'MSI-X / INTx');
  for (const q of new Set(jobs.map((j) => j.queue))) {
    meta(KERNEL_PID, ringTid(q), `drm_sched ossa-q${q}`);
    meta(DEVICE_PID, queueTid(q), `queue ${q}`);
  }
  const tasks = new Map<number, { pid: number; task: string }>();
  for (const c of calls) if (c.pid !== undefined) tasks.set(c.tid, { pid: c.pid, task: c.task });
  for (const [tid, t] of tasks) meta(t.pid, tid, `${t.task} (${tid})`);
  for (const pid of new Set([...tasks.values()].map((t) => t.pid))) meta(pid, undefined, `process ${pid}`);

  // The library's spans, on the thread that made them (the main thread's tid is its pid).
  for (const f of spanFiles) {
    for (const thread of new Set(f.spans.map((s) => s.thread))) if (thread !== 0) meta(f.pid, spanTid(f.pid, thread), `Worker ${thread}`);
    for (const s of f.spans) {
      const tid = spanTid(f.pid, s.thread);
      const keys = jobs.filter(
        (j) => j.submit?.pid === f.pid && j.submit.thread === s.thread && j.submit.seq === s.seq && s.seq !== 0 && (s.kind === 'submit' || s.kind === 'wait'),
      );
      span(`library ${s.kind}`, f.pid, tid, s, { seq: s.seq, jobs: s.kind === 'submit' ? s.jobs : undefined, job: keys.map((j) => j.key).join(' ') || undefined });
    }
  }
  // Every ioctl of the guest's processes.
  for (const c of calls) {
    if (c.pid === undefined) continue;
    const job = jobs.find((j) => j.ioctl === c);
    span(c.name, c.pid, c.tid, c, { cmd: `0x${(c.cmd >>> 0).toString(16)}`, ret: c.ret, job: job?.key });
  }

  jobs.forEach((j, n) => {
    const args = { job: j.key, queue: j.queue };
    const ring = ringTid(j.queue);
    if (j.run !== undefined) span('drm_sched: queued', KERNEL_PID, ring, { begin: j.queued, end: j.run }, args);
    if (j.run !== undefined && j.done !== undefined) span('drm_sched: on the device', KERNEL_PID, ring, { begin: j.run, end: j.done }, args);
    if (j.done !== undefined) instant('fence signalled', KERNEL_PID, ring, j.done, args);
    if (j.irq) span(`irq ${j.irq.name}`, KERNEL_PID, IRQ_TID, j.irq, args);
    const q = queueTid(j.queue);
    if (j.doorbell !== undefined) instant('doorbell', DEVICE_PID, q, j.doorbell, args);
    if (j.deviceStart !== undefined) {
      span('device: job', DEVICE_PID, q, { begin: j.deviceStart, end: j.deviceEnd ?? j.deviceStart }, { ...args, status: j.deviceStatus });
    }
    if (j.deviceIrq !== undefined) instant('interrupt raised', DEVICE_PID, DEVICE_IRQ_TID, j.deviceIrq, args);

    // One arrow through the job's steps, in the Perfetto UI.
    const steps: Array<[number, number, number | undefined]> = [
      [j.submit?.pid ?? -1, j.submit ? spanTid(j.submit.pid, j.submit.thread) : -1, j.submit?.begin],
      [KERNEL_PID, ring, j.queued],
      [DEVICE_PID, q, j.deviceStart],
      [KERNEL_PID, IRQ_TID, j.irq?.begin],
      [KERNEL_PID, ring, j.done],
    ];
    const present = steps.filter((s): s is [number, number, number] => s[2] !== undefined && s[0] >= 0);
    present.forEach(([pid, tid, t], k) => {
      const ph = k === 0 ? 's' : k === present.length - 1 ? 'f' : 't';
      ev.push({ name: 'job', cat: 'job', ph, id: n + 1, pid, tid, ts: us(t), ...(ph === 'f' ? { bp: 'e' as const } : {}), args });
    });
  });
  return { traceEvents: ev, displayTimeUnit: 'ns', otherData };
}
