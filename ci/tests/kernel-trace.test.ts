/**
 * The benchmark's ftrace readers, on trace text in the format Linux 6.12
 * writes (function_graph with funcgraph-tail; trace events).
 */
import { describe, expect, it } from 'vitest';
import { parseJobTimeline, parseSubmitGraph } from '../guest/kernel-trace.js';
import { startupLines } from '../lib/startup.js';
import { DRM_IOCTL_SYNCOBJ_WAIT } from '../../userspace/src/drm.js';
import { DRM_IOCTL_OSSA_SUBMIT } from '../../userspace/src/uapi.js';

describe('parseSubmitGraph', () => {
  it('sums the direct callees of each ossa_submit_ioctl call and skips deeper lines', () => {
    const trace = [
      '# tracer: function_graph',
      ' 1)               |  ossa_submit_ioctl [ossa]() {',
      ' 1)   2.000 us    |    drm_gem_object_lookup();',
      ' 1) + 30.000 us   |    } /* drm_sched_entity_push_job */',
      ' 1)   1.000 us    |      irq_enter_rcu();',
      ' 1) + 50.000 us   |  } /* ossa_submit_ioctl [ossa] */',
      ' 0)               |  ossa_submit_ioctl [ossa]() {',
      ' 0)   4.000 us    |    drm_gem_object_lookup();',
      ' 0) ! 150.000 us  |  } /* ossa_submit_ioctl [ossa] */',
    ].join('\n');
    const g = parseSubmitGraph(trace);
    expect(g.ioctls).toBe(2);
    expect(g.p50Us).toBe(150);
    expect(g.callees.map((c) => [c.name, c.calls, c.totalUs])).toEqual([
      ['drm_sched_entity_push_job', 1, 30],
      ['drm_gem_object_lookup', 2, 6],
    ]);
    expect(g.callees[0]?.share).toBeCloseTo(30 / 200);
  });
});

describe('parseJobTimeline', () => {
  it('follows one job from SUBMIT to the SYNCOBJ_WAIT return', () => {
    const submit = DRM_IOCTL_OSSA_SUBMIT.toString(16);
    const wait = DRM_IOCTL_SYNCOBJ_WAIT.toString(16);
    const trace = [
      `        nop-loop-90      [001] .....   10.000100: sys_enter: NR 16 (3, ${submit}, 7ffd0, 0, 0, 0)`,
      '        nop-loop-90      [001] .....   10.000110: drm_sched_job: entity=00000000 id=1 fence=00000000 ring=ossa-q0, job count:0, hw job count:0',
      '        nop-loop-90      [001] .....   10.000120: sys_exit: NR 16 = 0',
      `        nop-loop-90      [001] .....   10.000125: sys_enter: NR 16 (3, ${wait}, 7ffd0, 0, 0, 0)`,
      '     kworker/0:1-20      [000] .....   10.000150: drm_run_job: entity=00000000 id=1 fence=00000000 ring=ossa-q0, job count:0, hw job count:0',
      '          <idle>-0       [000] d.h..   10.000200: irq_handler_entry: irq=25 name=ossa-q0',
      '          <idle>-0       [000] d.h..   10.000203: drm_sched_process_job: fence=00000000 signaled',
      '        nop-loop-90      [001] .....   10.000250: sys_exit: NR 16 = 0',
    ].join('\n');
    const t = parseJobTimeline(trace);
    expect(t.jobs).toBe(1);
    expect(t.steps.map((s) => Math.round(s.p50Us))).toEqual([10, 10, 40, 50, 3, 47, 150]);
  });

  it('counts no job whose path the trace lost', () => {
    const submit = DRM_IOCTL_OSSA_SUBMIT.toString(16);
    expect(parseJobTimeline(`  nop-loop-90 [001] ..... 1.0: sys_enter: NR 16 (3, ${submit}, 0, 0, 0, 0)`).jobs).toBe(0);
  });
});

describe('startupLines', () => {
  it('lists the steps in time order with the time since the step before', () => {
    expect(
      startupLines([
        { step: 'runner start', seconds: 6.4 },
        { step: '/init', seconds: 3.7 },
      ]),
    ).toEqual(['   3.7 s  (+3.7 s)  /init', '   6.4 s  (+2.7 s)  runner start']);
  });
});
