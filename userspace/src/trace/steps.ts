/**
 * Where a traced job's time goes: the median of each step of the jobs seen
 * on every side, and how busy each device queue was over the trace.
 */
import type { Job } from './journey.js';

export interface StepTimes {
  /** Jobs with every step. */
  jobs: number;
  /** Median µs of each step, in journey order. */
  steps: Array<{ step: string; p50Us: number }>;
  /** Per queue: the share of the time from its first device start to its last end that it ran a job. */
  deviceBusy: Array<{ queue: number; share: number }>;
}

type Complete = Required<Pick<Job, 'queued' | 'run' | 'done' | 'doorbell' | 'deviceStart' | 'deviceEnd' | 'deviceIrq' | 'irq' | 'ioctl' | 'submit' | 'wait'>> & Job;

const STEPS: Array<[string, (j: Complete) => number]> = [
  ['library: submit call, before the ioctl', (j) => j.ioctl.begin - j.submit.begin],
  ['SUBMIT ioctl, to drm_sched queueing the job', (j) => j.queued - j.ioctl.begin],
  ['drm_sched: queued to run (dependencies, credits, the scheduler worker)', (j) => j.run - j.queued],
  ['run to the doorbell (the driver writes the ring)', (j) => j.doorbell - j.run],
  ['doorbell to the device starting the job', (j) => j.deviceStart - j.doorbell],
  ['the device runs the job', (j) => j.deviceEnd - j.deviceStart],
  ['job end to the interrupt raised', (j) => j.deviceIrq - j.deviceEnd],
  ['interrupt raised to the kernel handling it', (j) => j.irq.begin - j.deviceIrq],
  ['handler entry to the fence signalled', (j) => j.done - j.irq.begin],
  ['fence signalled to the library wait returning', (j) => j.wait.end - j.done],
  ['whole journey: library submit to wait returning', (j) => j.wait.end - j.submit.begin],
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : Number.NaN;
};

const SIDES = ['submit', 'ioctl', 'run', 'doorbell', 'deviceStart', 'deviceEnd', 'deviceIrq', 'irq', 'done', 'wait'] as const;

export function isComplete(j: Job): j is Complete {
  return SIDES.every((k) => j[k] !== undefined);
}

/** What the trace lacks of a job. */
export function missingSteps(j: Job): string[] {
  return SIDES.filter((k) => j[k] === undefined);
}

export function stepTimes(jobs: readonly Job[]): StepTimes {
  const complete = jobs.filter(isComplete);
  const deviceBusy = [...new Set(jobs.map((j) => j.queue))].sort().map((queue) => {
    const runs = jobs.filter((j) => j.queue === queue && j.deviceStart !== undefined && j.deviceEnd !== undefined);
    const first = Math.min(...runs.map((j) => j.deviceStart as number));
    const last = Math.max(...runs.map((j) => j.deviceEnd as number));
    const busy = runs.reduce((sum, j) => sum + ((j.deviceEnd as number) - (j.deviceStart as number)), 0);
    return { queue, share: last > first ? busy / (last - first) : 0 };
  });
  return {
    jobs: complete.length,
    steps: STEPS.map(([step, f]) => ({ step, p50Us: median(complete.map(f)) / 1000 })),
    deviceBusy,
  };
}
