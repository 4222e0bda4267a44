/**
 * The kernel's dma_fence trace events (dma_fence_init, dma_fence_signaled)
 * while an action runs, in a tracefs instance of their own so that the
 * suite's ioctl trace (support/ioctl-trace.ts) is left alone.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const INSTANCE = '/sys/kernel/tracing/instances/ossa-fences';
const EVENTS = ['dma_fence/dma_fence_init', 'dma_fence/dma_fence_signaled'];

/** The text of the instance's trace buffer after `action` ran. */
export async function fenceTrace(action: () => Promise<void>): Promise<string> {
  mkdirSync(INSTANCE);
  try {
    // Per CPU; a stress test signals tens of thousands of fences.
    writeFileSync(join(INSTANCE, 'buffer_size_kb'), '8192');
    // Events of several CPUs are merged by time: a clock that all CPUs share.
    writeFileSync(join(INSTANCE, 'trace_clock'), 'global');
    for (const e of EVENTS) writeFileSync(join(INSTANCE, 'events', e, 'enable'), '1');
    await action();
    for (const e of EVENTS) writeFileSync(join(INSTANCE, 'events', e, 'enable'), '0');
    return readFileSync(join(INSTANCE, 'trace'), 'utf8');
  } finally {
    rmdirSync(INSTANCE);
  }
}
