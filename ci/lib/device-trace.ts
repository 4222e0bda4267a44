/**
 * The device's trace events for a guest that asks (the trace tool, `ossa
 * trace`, over the control port): the few ossa_* trace events a job's
 * journey needs switched on through QMP, written by QEMU's log backend with
 * the host's timestamps (-msg timestamp=on) into the log file QEMU was
 * started with (-D). A stop answers with those events' lines written since
 * the start and puts each event back as it was (a caller's -trace stays).
 */
import { open, stat } from 'node:fs/promises';
import type { JsonObject, Qmp } from './qmp.js';

/**
 * The events of a job's journey: the doorbell, the job's start and end, the
 * interrupt, and register reads (the clock sync reads TIME_LO).
 */
export const JOURNEY_EVENTS = ['ossa_queue_doorbell', 'ossa_job_start', 'ossa_job_end', 'ossa_irq', 'ossa_reg_read'] as const;

/**
 * A trace line of the log backend with timestamps: "PID@SECONDS.MICROSECONDS:event args"
 * in QEMU 10.0, "YYYY-MM-DDTHH:MM:SS[.ffffff]Z event args" in 10.2
 * (userspace/src/trace/device-events.ts reads both).
 */
const TRACE_LINE = new RegExp(`^(?:\\d+@\\d+\\.\\d+:|\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z )(?:${JOURNEY_EVENTS.join('|')}) `);

export class DeviceTrace {
  /** Where in the log the current recording began, or undefined when none is on. */
  #from: number | undefined;
  /** The events that were off before the recording, to switch off after it. */
  #wereOff: string[] = [];

  constructor(readonly logFile: string) {}

  /** Starts a recording; one left running by a guest that went away is restarted from here. */
  async start(q: Qmp): Promise<void> {
    if (this.#from === undefined) {
      this.#wereOff = [];
      for (const name of JOURNEY_EVENTS) {
        const states = (await q.execute('trace-event-get-state', { name })) as JsonObject[];
        if (states.some((s) => s.state === 'disabled')) this.#wereOff.push(name);
      }
      for (const name of this.#wereOff) await q.execute('trace-event-set-state', { name, enable: true });
    }
    this.#from = await stat(this.logFile).then((s) => s.size, () => 0);
  }

  /** Puts the events back as they were and returns the lines they wrote. */
  async stop(q: Qmp): Promise<string[]> {
    const from = this.#from;
    if (from === undefined) throw new Error('the device is not being traced');
    this.#from = undefined;
    for (const name of this.#wereOff) await q.execute('trace-event-set-state', { name, enable: false });
    const file = await open(this.logFile, 'r').catch(() => undefined);
    if (!file) return [];
    try {
      const { size } = await file.stat();
      const buf = Buffer.alloc(Math.max(0, size - from));
      await file.read(buf, 0, buf.length, from);
      return buf.toString('utf8').split('\n').filter((l) => TRACE_LINE.test(l));
    } finally {
      await file.close();
    }
  }
}
