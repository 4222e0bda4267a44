/**
 * Where a NOP job's round trip goes inside the guest kernel, from ftrace
 * (tracefs): the C submit loop (bench/nop-loop) run twice under tracing.
 *
 * - function_graph, one level below ossa_submit_ioctl(): the SUBMIT
 *   ioctl's time split by the functions it calls.
 * - trace events along the path of each job: the SUBMIT and
 *   SYNCOBJ_WAIT system calls, drm_sched's job and run events, the
 *   queue's interrupt and the job's completion.
 *
 * Tracing costs time of its own, so these are shares and splits, to set
 * beside the untraced figures; not figures to compare with a floor.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DRM_IOCTL_SYNCOBJ_WAIT } from '../../userspace/src/drm.js';
import { DRM_IOCTL_OSSA_SUBMIT } from '../../userspace/src/uapi.js';
import { median } from './stats.js';

const TRACEFS = '/sys/kernel/tracing';
const NOP_LOOP = '/ossa/bench/nop-loop';
const ITERATIONS = 200;

/** One function called by ossa_submit_ioctl(), with its time over all calls. */
export interface SubmitCallee {
  name: string;
  calls: number;
  totalUs: number;
  /** Of the SUBMIT ioctl's own total. */
  share: number;
}

export interface SubmitGraph {
  ioctls: number;
  /** ossa_submit_ioctl() itself, median per call, traced. */
  p50Us: number;
  callees: SubmitCallee[];
}

/** Medians, µs, of the steps of one job (traced). */
export interface JobTimeline {
  jobs: number;
  steps: Array<{ step: string; p50Us: number }>;
}

const write = (file: string, value: string): void => writeFileSync(join(TRACEFS, file), value);

function reset(): void {
  write('tracing_on', '0');
  write('current_tracer', 'nop');
  write('set_event', '');
  write('set_graph_function', '');
  write('trace', '');
}

function tracedRun(device: string): string {
  write('tracing_on', '1');
  try {
    execFileSync(NOP_LOOP, [device, String(ITERATIONS)], { encoding: 'utf8' });
  } finally {
    write('tracing_on', '0');
  }
  return readFileSync(join(TRACEFS, 'trace'), 'utf8');
}

/**
 * function_graph lines: "cpu) [marker] duration us | <indent>name();" for
 * a leaf, "... | <indent>} /* name *\/" for the end of a call with children.
 */
const GRAPH_LINE = /^\s*\d+\)\s+(?:[+!#*@$]\s+)?([\d.]+) us\s+\|(\s*)(.*)$/;

export function parseSubmitGraph(trace: string): SubmitGraph {
  const totals: number[] = [];
  const callees = new Map<string, { calls: number; totalUs: number }>();
  // A call's children come before its closing line, which gives its depth.
  let pending: Array<{ name: string; us: number; indent: number }> = [];
  for (const line of trace.split('\n')) {
    const m = GRAPH_LINE.exec(line);
    if (!m) continue;
    const us = Number(m[1]);
    const indent = (m[2] ?? '').length;
    const text = (m[3] ?? '').trim();
    const name = (text.startsWith('}') ? /\/\*\s*(\S+)/.exec(text)?.[1] : /^([\w.]+)/.exec(text)?.[1]) ?? text;
    if (name !== 'ossa_submit_ioctl') {
      pending.push({ name, us, indent });
      continue;
    }
    totals.push(us);
    for (const p of pending) {
      if (p.indent !== indent + 2) continue;
      const c = callees.get(p.name) ?? { calls: 0, totalUs: 0 };
      c.calls++;
      c.totalUs += p.us;
      callees.set(p.name, c);
    }
    pending = [];
  }
  const all = totals.reduce((a, b) => a + b, 0);
  return {
    ioctls: totals.length,
    p50Us: median(totals),
    callees: [...callees.entries()]
      .map(([name, c]) => ({ name, ...c, share: all ? c.totalUs / all : 0 }))
      .sort((a, b) => b.totalUs - a.totalUs),
  };
}

/** "comm-pid [cpu] flags timestamp: event: details" */
const EVENT_LINE = /^\s*(.+?)-(\d+)\s+\[\d+\]\s+(?:\S+\s+)?([\d.]+):\s+(\w+):\s*(.*)$/;

export function parseJobTimeline(trace: string): JobTimeline {
  const submit = DRM_IOCTL_OSSA_SUBMIT.toString(16);
  const wait = DRM_IOCTL_SYNCOBJ_WAIT.toString(16);
  type Job = Partial<Record<'enter' | 'queued' | 'submitted' | 'waiting' | 'run' | 'irq' | 'done' | 'woken', number>>;
  const jobs: Job[] = [];
  let job: Job | undefined;
  for (const line of trace.split('\n')) {
    const m = EVENT_LINE.exec(line);
    if (!m) continue;
    const [, comm, , ts, event, details = ''] = m;
    const t = Number(ts) * 1e6;
    const ours = comm?.trim() === 'nop-loop';
    if (ours && event === 'sys_enter') {
      const request = /^NR 16 \(\w+, (\w+)/.exec(details)?.[1];
      if (request === submit) {
        job = { enter: t };
        jobs.push(job);
      } else if (request === wait && job) job.waiting ??= t;
    } else if (!job) continue;
    else if (ours && event === 'sys_exit') {
      if (job.waiting === undefined) job.submitted ??= t;
      else job.woken ??= t;
    } else if (event === 'drm_sched_job') job.queued ??= t;
    else if (event === 'drm_run_job') job.run ??= t;
    else if (event === 'irq_handler_entry' && /name=ossa/.test(details)) job.irq ??= t;
    else if (event === 'drm_sched_process_job') job.done ??= t;
  }
  const complete = jobs.filter((j) => ['enter', 'queued', 'submitted', 'run', 'irq', 'done', 'woken'].every((k) => j[k as keyof Job] !== undefined)) as Array<Required<Job>>;
  const step = (name: string, from: keyof Job, to: keyof Job): { step: string; p50Us: number } => ({
    step: name,
    p50Us: median(complete.map((j) => j[to] - j[from])),
  });
  return {
    jobs: complete.length,
    steps: [
      step('SUBMIT ioctl: checks, locks, job set-up, to drm_sched_job', 'enter', 'queued'),
      step('SUBMIT ioctl: from drm_sched_job to its return', 'queued', 'submitted'),
      step('drm_sched: job queued to drm_run_job (scheduler worker)', 'queued', 'run'),
      step('drm_run_job to the queue interrupt (doorbell, device, MSI-X)', 'run', 'irq'),
      step('interrupt to drm_sched_process_job (job done)', 'irq', 'done'),
      step('job done to the SYNCOBJ_WAIT return (fence, wake-up)', 'done', 'woken'),
      step('whole round trip, traced', 'enter', 'woken'),
    ],
  };
}

/** Runs both traces; null when the kernel has no tracefs. */
export function traceNopJobs(device: string): { submit: SubmitGraph; timeline: JobTimeline } | null {
  if (!existsSync(join(TRACEFS, 'trace'))) return null;
  reset();
  try {
    write('buffer_size_kb', '4096');
    write('set_graph_function', 'ossa_submit_ioctl');
    write('max_graph_depth', '2');
    write('options/funcgraph-tail', '1');
    write('current_tracer', 'function_graph');
    const submit = parseSubmitGraph(tracedRun(device));

    reset();
    write('events/raw_syscalls/sys_enter/filter', 'id == 16');
    write('events/raw_syscalls/sys_exit/filter', 'id == 16');
    for (const e of [
      'raw_syscalls:sys_enter',
      'raw_syscalls:sys_exit',
      'gpu_scheduler:drm_sched_job',
      'gpu_scheduler:drm_run_job',
      'gpu_scheduler:drm_sched_process_job',
      'irq:irq_handler_entry',
    ]) {
      writeFileSync(join(TRACEFS, 'set_event'), `${e}\n`, { flag: 'a' });
    }
    const timeline = parseJobTimeline(tracedRun(device));
    return { submit, timeline };
  } finally {
    reset();
    write('events/raw_syscalls/sys_enter/filter', '0');
    write('events/raw_syscalls/sys_exit/filter', '0');
  }
}
