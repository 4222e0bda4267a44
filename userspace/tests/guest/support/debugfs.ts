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

/** A file's DRM client id: drm-client-id in its fdinfo. */
export function clientId(dev: Device): number {
  const m = /^drm-client-id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${dev.fd}`, 'utf8'));
  if (!m) throw new Error(`no drm-client-id in the fdinfo of ${dev.path}`);
  return Number(m[1]);
}

/** Each hardware context in use (debugfs contexts), by the DRM client id of its file. */
export function contextsByClient(): Map<number, number> {
  const lines = readFileSync(join(debugfsDir(), 'contexts'), 'utf8').split('\n');
  const found = lines.map((l) => /^context (\d+) client (\d+)/.exec(l)).filter((m) => m !== null);
  return new Map(found.map((m) => [Number(m[2]), Number(m[1])]));
}

/** The hardware context of a file: its line in debugfs contexts, found by its client id. */
export function contextOf(dev: Device): number {
  const client = clientId(dev);
  const context = contextsByClient().get(client);
  if (context === undefined) throw new Error(`debugfs contexts has no context of client ${client}`);
  return context;
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
