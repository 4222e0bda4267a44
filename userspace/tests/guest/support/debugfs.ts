/** The driver's debugfs files, for leak checks and fault injection. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Device } from '../../../src/index.js';

let dir: string | undefined;

export function debugfsDir(): string {
  if (!dir) {
    using dev = Device.open();
    dir = dev.debugfsDir();
  }
  return dir;
}

export interface DriverStats {
  bos: number;
  contexts: number;
  jobs: number;
  /** Resets of the whole device (debugfs reset). */
  resets: number;
  /** Queues recovered from a job timeout or a queue error. */
  recoveries: number;
}

export function driverStats(): DriverStats {
  const values = Object.fromEntries(
    readFileSync(join(debugfsDir(), 'stats'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string])
      .map(([k, v]) => [k, Number(v)]),
  );
  return {
    bos: values.bos ?? NaN,
    contexts: values.contexts ?? NaN,
    jobs: values.jobs ?? NaN,
    resets: values.resets ?? NaN,
    recoveries: values.recoveries ?? NaN,
  };
}

/** Objects alive: what must return to its baseline after a test file. */
export function liveObjects(): Omit<DriverStats, 'resets' | 'recoveries'> {
  const { bos, contexts, jobs } = driverStats();
  return { bos, contexts, jobs };
}

/** Writes a fault-injection register through debugfs. */
export function inject(name: 'inject_hang' | 'inject_fail' | 'inject_delay_us', value: number): void {
  writeFileSync(join(debugfsDir(), name), String(value));
}

export async function until(fn: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
