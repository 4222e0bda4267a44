/**
 * `ossa trace`: a program's jobs traced end to end, and the trace read back
 * as the Perfetto UI reads it (Chrome JSON). Each job's steps, recorded by
 * three different parties (the library in the traced process, the guest
 * kernel's ftrace, QEMU on the host), follow each other in time on the one
 * clock: submit → drm_sched → doorbell → device → interrupt → fence → the
 * library's wait. The device's events reach the guest over the host's
 * control port, so without the project's runner that part is skipped.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import type { TraceEvent, TraceFile } from '../../src/trace/trace-json.js';
import { controlPort } from './support/host.js';

const run = promisify(execFile);
const NO_HOST = controlPort() ? undefined : 'no host control port: the guest runs outside ci/lib/vm.ts, so QEMU cannot be asked for the device events';
const JOBS = 6;

/** A program of the library's users: FILL jobs, one at a time, each waited for. */
const PROGRAM = `
  const { CommandStream, Device } = await import(process.env.OSSA_LIB);
  const dev = Device.open();
  const out = dev.createBuffer(1 << 16);
  for (let i = 0; i < ${JOBS}; i++) {
    const f = dev.submit({ queue: i % 2, commands: new CommandStream().fill(out.va, 1 << 16, i), buffers: [{ buffer: out, access: 'write' }] });
    const s = await f.settle(10_000);
    if (s.state !== 'signaled') throw new Error('job ' + i + ': ' + JSON.stringify(s));
    f.close();
  }
  out.close();
  dev.close();`;

describe('ossa trace', () => {
  test.skipIf(NO_HOST)(`each job's steps follow each other across library, kernel and device, on one clock ${NO_HOST ?? ''}`, async () => {
    const out = '/tmp/ossa-trace-test.json';
    rmSync(out, { force: true });
    const { stderr } = await run('/bin/ossa', ['trace', '-o', out, '--', process.execPath, '--input-type=module', '-e', PROGRAM], {
      env: { ...process.env, OSSA_LIB: new URL('../../src/index.js', import.meta.url).href },
      timeout: 120_000,
    });
    console.log(stderr);
    expect(stderr).toMatch(new RegExp(`^ossa trace: ${JOBS} jobs, ${JOBS} seen on every side; device events recorded, device clock placed within ±[\\d.]+ µs`));
    const trace = JSON.parse(readFileSync(out, 'utf8')) as TraceFile;
    const slack = Number(trace.otherData.clockUncertaintyNs) / 1000 + 1; // µs: the sync's bound, and ftrace's µs
    expect(slack).toBeLessThan(100);

    const byJob = new Map<string, TraceEvent[]>();
    for (const e of trace.traceEvents) {
      for (const key of String(e.args?.job ?? '').split(' ').filter(Boolean)) byJob.set(key, [...(byJob.get(key) ?? []), e]);
    }
    const jobs = [...byJob.keys()].filter((k) => byJob.get(k)?.some((e) => e.name === 'drm_sched: queued'));
    expect(jobs).toHaveLength(JOBS);
    for (const key of jobs) {
      const events = byJob.get(key) ?? [];
      const one = (name: string | RegExp): TraceEvent & { ts: number; end: number } => {
        const found = events.filter((e) => e.ph !== 's' && e.ph !== 't' && e.ph !== 'f' && (typeof name === 'string' ? e.name === name : name.test(e.name)));
        expect(found, `job ${key}: one "${String(name)}" event`).toHaveLength(1);
        const e = found[0] as TraceEvent;
        return { ...e, ts: e.ts ?? NaN, end: (e.ts ?? NaN) + (e.dur ?? 0) };
      };
      const submit = one('library submit');
      const ioctl = one('DRM_IOCTL_OSSA_SUBMIT');
      const queued = one('drm_sched: queued');
      const onDevice = one('drm_sched: on the device');
      const doorbell = one('doorbell');
      const device = one('device: job');
      const raised = one('interrupt raised');
      const irq = one(/^irq ossa/);
      const fence = one('fence signalled');
      const wait = one('library wait');
      // The tool links a job's events by drm_sched's key, by the thread and
      // time of its queued event, by the CPU and time of its done event,
      // and by ring order on the device; it never orders one party's events
      // against another's. So every pair below, each from two parties,
      // could come out wrong; the device's against the guest's within the
      // clock sync's bound.
      const order: Array<[number, number, string, number]> = [
        [submit.ts, ioctl.ts, "the library's submit, then its SUBMIT ioctl", 0],
        [ioctl.end, submit.end, 'the ioctl returns inside the library submit', 0],
        [onDevice.ts, doorbell.ts, 'drm_sched runs the job, then the device hears the doorbell', slack],
        [queued.ts, device.ts, 'the job queued, then the device starts it', slack],
        [device.end, irq.ts, 'the device ends the job, then the kernel handles its interrupt', slack],
        [raised.ts, irq.ts, 'the device raises the interrupt, then the kernel handles it', slack],
        [device.end, fence.ts, 'the device ends the job, then its fence signals', slack],
        [fence.ts, wait.end, 'the fence signals, then the library wait ends', 0],
      ];
      expect(device.args?.status, `job ${key}: device status`).toBe(0);
      for (const [a, b, what, tolerance] of order) expect(a, `job ${key}: ${what} (${a} µs, ${b} µs)`).toBeLessThanOrEqual(b + tolerance);
    }
    // A flow per job for the UI's arrows: begins in the library, ends at the fence.
    const flows = trace.traceEvents.filter((e) => e.cat === 'job');
    expect(new Set(flows.map((e) => e.id)).size).toBe(JOBS);
    expect(flows.filter((e) => e.ph === 's')).toHaveLength(JOBS);
    expect(flows.filter((e) => e.ph === 'f')).toHaveLength(JOBS);
  });

  test('a command that fails keeps its exit status; a missing command is exit 2', async () => {
    const err = await run('/bin/ossa', ['trace', '-o', '/tmp/ossa-trace-fail.json', '--', process.execPath, '-e', 'process.exit(7)']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 7 });
    const usage = await run('/bin/ossa', ['trace']).catch((e: unknown) => e);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringMatching(/trace needs a command/) });
  });
});
