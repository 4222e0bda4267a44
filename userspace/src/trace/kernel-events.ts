/**
 * The guest kernel's side of a trace, from ftrace (tracefs), in an
 * instance of its own so that other users of tracefs are not disturbed:
 * every ioctl (raw_syscalls, with the thread and its process), drm_sched's
 * job events (queued, run, done: Linux 6.12's drm_sched_job, drm_run_job
 * and drm_sched_process_job, or the drm_sched_job_queue, _run and _done of
 * later kernels) and the device's interrupts, on CLOCK_MONOTONIC
 * (trace_clock mono), the clock of the library's spans.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TRACEFS = '/sys/kernel/tracing';

/** One line of the trace. */
export interface KernelEvent {
  task: string;
  tid: number;
  cpu: number;
  /** The thread's process, where ftrace recorded it (record-tgid). */
  pid: number | undefined;
  /** CLOCK_MONOTONIC, ns (ftrace prints microseconds). */
  ts: number;
  name: string;
  details: string;
}

/** drm_sched's job events, by what they mean. */
const SCHED_EVENTS = [
  { queued: 'drm_sched_job_queue', run: 'drm_sched_job_run', done: 'drm_sched_job_done' },
  { queued: 'drm_sched_job', run: 'drm_run_job', done: 'drm_sched_process_job' },
] as const;
export type SchedEventNames = (typeof SCHED_EVENTS)[number];

/** "comm-tid (tgid) [cpu] flags timestamp: event: details"; the tgid column only with record-tgid. */
const LINE = /^\s*(.+?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+)\.(\d+):\s+(\w+):\s*(.*)$/;

export function parseKernelEvents(text: string): KernelEvent[] {
  const events: KernelEvent[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, task = '', tid = '0', tgid, cpu = '0', sec = '0', frac = '0', name = '', details = ''] = m;
    events.push({
      task: task.trim(),
      tid: Number(tid),
      cpu: Number(cpu),
      // Without the tgid column, a thread is taken for its own process (true of main threads).
      pid: tgid === undefined ? Number(tid) : /^\d+$/.test(tgid) ? Number(tgid) : undefined,
      ts: Number(sec) * 1e9 + Number(frac.padEnd(9, '0').slice(0, 9)),
      name,
      details,
    });
  }
  return events;
}

/** A recording of the kernel's events; stop() ends it and returns them. */
export class KernelTrace {
  readonly #dir: string;
  readonly sched: SchedEventNames;

  private constructor(dir: string, sched: SchedEventNames) {
    this.#dir = dir;
    this.sched = sched;
  }

  /** Starts recording; throws with the reason when this kernel or user cannot. */
  static start(): KernelTrace {
    if (!existsSync(join(TRACEFS, 'instances'))) throw new Error(`no tracefs at ${TRACEFS} (mount it: mount -t tracefs nodev ${TRACEFS}; root only)`);
    const sched = SCHED_EVENTS.find((s) => existsSync(join(TRACEFS, 'events/gpu_scheduler', s.queued)));
    if (!sched) throw new Error('this kernel has no gpu_scheduler trace events (drm_sched built without tracing?)');
    const dir = join(TRACEFS, 'instances', `ossa-trace-${process.pid}`);
    mkdirSync(dir);
    const t = new KernelTrace(dir, sched);
    try {
      t.#write('tracing_on', '0');
      t.#write('trace_clock', 'mono');
      t.#write('buffer_size_kb', '8192');
      // Each thread's process, where the kernel lets an instance record it.
      if (existsSync(join(dir, 'options/record-tgid'))) t.#write('options/record-tgid', '1');
      // Linux 6.12 tells a job's done event from others by its fence's address only.
      if (existsSync(join(dir, 'options/hash-ptr'))) t.#write('options/hash-ptr', '0');
      for (const dir of ['raw_syscalls/sys_enter', 'raw_syscalls/sys_exit']) t.#write(`events/${dir}/filter`, 'id == 16');
      for (const e of [
        'raw_syscalls/sys_enter',
        'raw_syscalls/sys_exit',
        `gpu_scheduler/${sched.queued}`,
        `gpu_scheduler/${sched.run}`,
        `gpu_scheduler/${sched.done}`,
        'irq/irq_handler_entry',
        'irq/irq_handler_exit',
      ]) {
        t.#write(`events/${e}/enable`, '1');
      }
      t.#write('tracing_on', '1');
    } catch (err) {
      t.#remove();
      throw err;
    }
    return t;
  }

  stop(): KernelEvent[] {
    try {
      this.#write('tracing_on', '0');
      return parseKernelEvents(readFileSync(join(this.#dir, 'trace'), 'utf8'));
    } finally {
      this.#remove();
    }
  }

  #write(file: string, value: string): void {
    writeFileSync(join(this.#dir, file), value);
  }

  #remove(): void {
    try {
      // Events must be off before the instance can go.
      writeFileSync(join(this.#dir, 'events/enable'), '0');
      rmdirSync(this.#dir);
    } catch (err) {
      process.stderr.write(`ossa: could not remove the tracefs instance ${this.#dir}: ${(err as Error).message}\n`);
    }
  }
}
