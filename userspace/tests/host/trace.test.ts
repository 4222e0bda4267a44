/**
 * The trace tool's parts that need no machine: reading ftrace's and QEMU's
 * trace lines, the clock sync between guest and host, and the matching of
 * each side's events to drm_sched's jobs. The guest test (tests/guest/
 * trace.test.ts) traces real jobs.
 */
import { describe, expect, test } from 'vitest';
import { R_ALL } from '../../../qemu-device/tests/regs.js';
import { DRM_IOCTL_VERSION } from '../../src/drm.js';
import { DRM_IOCTL_OSSA_SUBMIT } from '../../src/uapi.js';
import { clockOffset, hostToGuest, parseDeviceEvents, REG_TIME_LO, type TimeSample } from '../../src/trace/device-events.js';
import { ioctls, schedJobs } from '../../src/trace/journey.js';
import { parseKernelEvents } from '../../src/trace/kernel-events.js';
import { stepTimes } from '../../src/trace/steps.js';

const SUBMIT = DRM_IOCTL_OSSA_SUBMIT.toString(16);

describe('kernel events', () => {
  test('ftrace lines, with and without the tgid column, on microseconds of CLOCK_MONOTONIC', () => {
    const events = parseKernelEvents(
      [
        '# tracer: nop',
        `            node-210     (    210) [001] .....    12.000100: sys_enter: NR 16 (15, ${SUBMIT}, 7ffd0000, 0, 0, 0)`,
        '     kworker/0:1-20      [000] d..1.    12.000150: drm_run_job: entity=ff11 id=7 fence=ff22 ring=ossa-q1, job count:0, hw job count:0',
      ].join('\n'),
    );
    expect(events).toEqual([
      { task: 'node', tid: 210, pid: 210, cpu: 1, ts: 12_000_100_000, name: 'sys_enter', details: `NR 16 (15, ${SUBMIT}, 7ffd0000, 0, 0, 0)` },
      { task: 'kworker/0:1', tid: 20, pid: 20, cpu: 0, ts: 12_000_150_000, name: 'drm_run_job', details: expect.stringContaining('id=7') },
    ]);
  });

  test("ioctls pair each thread's sys_enter with its sys_exit, and are named", () => {
    const calls = ioctls(
      parseKernelEvents(
        [
          `node-210 (210) [001] ..... 1.000010: sys_enter: NR 16 (15, ${SUBMIT}, 0, 0, 0, 0)`,
          `node-211 (210) [000] ..... 1.000011: sys_enter: NR 16 (16, ${DRM_IOCTL_VERSION.toString(16)}, 0, 0, 0, 0)`,
          'node-210 (210) [001] ..... 1.000030: sys_exit: NR 16 = 0',
          'node-211 (210) [000] ..... 1.000040: sys_exit: NR 16 = -22',
        ].join('\n'),
      ),
    );
    expect(calls.map((c) => [c.tid, c.name, c.begin, c.end, c.ret])).toEqual([
      [210, 'DRM_IOCTL_OSSA_SUBMIT', 1_000_010_000, 1_000_030_000, 0],
      [211, 'DRM_IOCTL_VERSION', 1_000_011_000, 1_000_040_000, -22],
    ]);
  });

  test("drm_sched's jobs, keyed by ring and job id (each ring counts its own) and matched to their done event by fence address (Linux 6.12)", () => {
    const jobs = schedJobs(
      parseKernelEvents(
        [
          'node-210 (210) [001] ..... 1.000010: drm_sched_job: entity=e1, id=5, fence=f1, ring=ossa-q0, job count:0, hw job count:0',
          'node-210 (210) [001] ..... 1.000020: drm_sched_job: entity=e2, id=5, fence=f2, ring=ossa-q1, job count:0, hw job count:0',
          'kworker-20 (20) [000] ..... 1.000030: drm_run_job: entity=e2, id=5, fence=f2, ring=ossa-q1, job count:0, hw job count:0',
          'kworker-20 (20) [000] ..... 1.000040: drm_run_job: entity=e1, id=5, fence=f1, ring=ossa-q0, job count:0, hw job count:0',
          '<idle>-0 (0) [000] d.h1. 1.000090: drm_sched_process_job: fence=f1 signaled',
          // Its address reused by a later job of ring 0, run and done.
          'node-210 (210) [001] ..... 1.000100: drm_sched_job: entity=e1, id=6, fence=f1, ring=ossa-q0, job count:0, hw job count:0',
          'kworker-20 (20) [000] ..... 1.000110: drm_run_job: entity=e1, id=6, fence=f1, ring=ossa-q0, job count:0, hw job count:0',
          '<idle>-0 (0) [001] d.h1. 1.000095: drm_sched_process_job: fence=f2 signaled',
          '<idle>-0 (0) [000] d.h1. 1.000120: drm_sched_process_job: fence=f1 signaled',
        ].join('\n'),
      ),
      { queued: 'drm_sched_job', run: 'drm_run_job', done: 'drm_sched_process_job' },
    );
    expect(jobs.map((j) => [j.key, j.queue, j.queued, j.run, j.done, j.doneCpu])).toEqual([
      ['ossa-q0/5', 0, 1_000_010_000, 1_000_040_000, 1_000_090_000, 0],
      ['ossa-q1/5', 1, 1_000_020_000, 1_000_030_000, 1_000_095_000, 1],
      ['ossa-q0/6', 0, 1_000_100_000, 1_000_110_000, 1_000_120_000, 0],
    ]);
  });

  test("drm_sched's jobs keyed by fence context:seqno (later kernels)", () => {
    const jobs = schedJobs(
      parseKernelEvents(
        [
          'node-210 (210) [001] ..... 1.000010: drm_sched_job_queue: dev=0000:01:00.0, fence=12:3, ring=ossa-q0, job count:0, hw job count:0, client_id:4',
          'kworker-20 (20) [000] ..... 1.000030: drm_sched_job_run: dev=0000:01:00.0, fence=12:3, ring=ossa-q0, job count:0, hw job count:0, client_id:4',
          '<idle>-0 (0) [000] d.h1. 1.000090: drm_sched_job_done: fence=12:3 signaled',
        ].join('\n'),
      ),
      { queued: 'drm_sched_job_queue', run: 'drm_sched_job_run', done: 'drm_sched_job_done' },
    );
    expect(jobs.map((j) => [j.key, j.queue, j.run, j.done])).toEqual([['12:3', 0, 1_000_030_000, 1_000_090_000]]);
  });
});

describe('device events and the clock sync', () => {
  test('TIME_LO is the register header\'s', () => {
    expect(REG_TIME_LO).toBe(R_ALL.REG_TIME_LO);
  });

  test("QEMU's log lines with the host's timestamps, arguments as numbers", () => {
    expect(parseDeviceEvents(['2312@1764000000.000123:ossa_job_end queue 1 job 4 status 0 error offset 0', 'not a trace line', '2312@1764000001.5:ossa_irq cause 0x1 vector 2'])).toEqual([
      { hostTs: 123_000, name: 'ossa_job_end', args: { queue: 1, job: 4, status: 0, offset: 0 } },
      { hostTs: 1_500_000_000, name: 'ossa_irq', args: { cause: 1, vector: 2 } },
    ]);
  });

  test("QEMU 10.2's stamps (qemu_log's ISO 8601, UTC), with and without a fraction", () => {
    expect(parseDeviceEvents(['2026-12-03T12:00:00.000250Z ossa_queue_doorbell queue 0 tail 5 head 4', '2026-12-03T12:00:01Z ossa_irq cause 0x1 vector 1'])).toEqual([
      { hostTs: 250_000, name: 'ossa_queue_doorbell', args: { queue: 0, tail: 5, head: 4 } },
      { hostTs: 1_000_000_000, name: 'ossa_irq', args: { cause: 1, vector: 1 } },
    ]);
  });

  test('reads of the device time seen on both sides bound the offset between the clocks; the bound holds the true offset', () => {
    // The host's clock runs OFFSET ns ahead of the guest's (its trace
    // lines count from their first whole second); each read of TIME_LO
    // happens somewhere within its guest bracket.
    const EPOCH_S = 1_764_000_000;
    const OFFSET = -4_999_000_000; // the reads fall in the host's second EPOCH_S
    const samples: TimeSample[] = [];
    const lines: string[] = [];
    for (let i = 0; i < 8; i++) {
      // When the device was read, on the guest's clock, and a bracket around it, tight on one side or the other.
      const at = 5_000_000_000 + i * 10_000 + 300;
      const before = at - (i % 2 ? 3_000 : 400);
      const after = at + (i % 2 ? 400 : 3_000);
      const device = BigInt(9_000_000_000 + i * 10_000) + (1n << 32n) * BigInt(i);
      samples.push({ before, device, after });
      const usec = Math.floor((at + OFFSET) / 1000);
      lines.push(`99@${EPOCH_S + Math.floor(usec / 1e6)}.${String(usec % 1e6).padStart(6, '0')}:ossa_reg_read addr 0x18 val 0x${(device & 0xffffffffn).toString(16)}`);
    }
    const events = parseDeviceEvents(lines);
    const o = clockOffset(samples, events);
    expect(o?.samples).toBe(8);
    expect(o!.low).toBeLessThanOrEqual(OFFSET);
    expect(o!.high).toBeGreaterThanOrEqual(OFFSET);
    // Each read bounds it to its bracket (3.4 µs) and the host's microsecond; together, tighter.
    expect(o!.high - o!.low).toBeLessThan(2_000);
    const toGuest = hostToGuest(o!, undefined);
    expect(Math.abs(toGuest(5_000_001_000 + OFFSET) - 5_000_001_000)).toBeLessThan(2_000);
    // Reads the host never saw place nothing.
    expect(clockOffset(samples, [])).toBeUndefined();
  });
});

describe('step times', () => {
  test("each step's median over the jobs seen on every side, and each queue's busy share", () => {
    const job = (n: number, queue: number, start: number) => ({
      key: String(n),
      queue,
      tid: 1,
      pid: 1,
      submit: { kind: 'submit' as const, begin: start, end: start + 50, seq: n, jobs: 1, thread: 0, pid: 1 },
      ioctl: { tid: 1, pid: 1, task: 'node', cmd: 0, name: 'DRM_IOCTL_OSSA_SUBMIT', ret: 0, begin: start + 10, end: start + 40 },
      queued: start + 20,
      run: start + 100,
      doorbell: start + 110,
      deviceStart: start + 120,
      deviceEnd: start + 220,
      deviceIrq: start + 225,
      irq: { name: 'ossa-q0', begin: start + 240, end: start + 260 },
      done: start + 250,
      wait: { kind: 'wait' as const, begin: start + 60, end: start + 300, seq: n, jobs: 0, thread: 0, pid: 1 },
    });
    // Queue 0 runs 100 of every 200 ns; a job that never reached the device counts in no step.
    const t = stepTimes([job(1, 0, 0), job(2, 0, 200), job(3, 0, 400), { key: '4', queue: 1, tid: 1, pid: 1, queued: 5 }]);
    expect(t.jobs).toBe(3);
    expect(Object.fromEntries(t.steps.map((s) => [s.step, s.p50Us * 1000]))).toMatchObject({
      'SUBMIT ioctl, to drm_sched queueing the job': 10,
      'drm_sched: queued to run (dependencies, credits, the scheduler worker)': 80,
      'the device runs the job': 100,
      'interrupt raised to the kernel handling it': 15,
      'whole journey: library submit to wait returning': 300,
    });
    expect(t.deviceBusy[0]).toEqual({ queue: 0, share: 300 / 500 });
  });
});
