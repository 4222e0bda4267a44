/**
 * DRM usage statistics (Documentation/gpu/drm-usage-stats.rst) as the
 * kernel shows them in /proc/PID/fdinfo/FD of an accel file: the driver,
 * the client, its memory and each engine's busy time (ossa: one engine
 * per queue, drm-engine-queueN).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One file's usage, from its fdinfo. */
export interface FdUsage {
  /** drm-driver, e.g. "ossa". */
  driver: string;
  /** drm-client-id: the same for every fd of one open file. */
  clientId: number;
  /** drm-pdev, e.g. 0000:00:03.0, when the driver's device is on PCI. */
  pdev: string | undefined;
  /** drm-<kind>-memory (total, shared, resident, purgeable, active), bytes. */
  memory: Record<string, number>;
  /** drm-engine-<name>: busy time in ns. */
  engines: Record<string, bigint>;
}

const UNITS: Record<string, number> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** Parses fdinfo text; undefined when it is not a DRM file's. */
export function parseFdinfo(text: string): FdUsage | undefined {
  const keys = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(drm-[a-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) keys.set(m[1] as string, (m[2] as string).trim());
  }
  const driver = keys.get('drm-driver');
  const client = keys.get('drm-client-id');
  if (driver === undefined || client === undefined) return undefined;
  const memory: Record<string, number> = {};
  const engines: Record<string, bigint> = {};
  for (const [key, value] of keys) {
    const mem = /^drm-([a-z]+)-memory$/.exec(key) ?? /^drm-memory-([a-z]+)$/.exec(key);
    const size = /^(\d+)(?: (KiB|MiB|GiB))?$/.exec(value);
    if (mem && size) memory[mem[1] as string] = Number(size[1]) * (UNITS[size[2] ?? ''] ?? 1);
    const engine = /^drm-engine-(?!capacity-)([a-z0-9_-]+)$/.exec(key);
    const ns = /^(\d+) ns$/.exec(value);
    if (engine && ns) engines[engine[1] as string] = BigInt(ns[1] as string);
  }
  return { driver, clientId: Number(client), pdev: keys.get('drm-pdev'), memory, engines };
}

/** The usage of one fd of this process. */
export function fdUsage(fd: number, pid: number | 'self' = 'self'): FdUsage | undefined {
  return parseFdinfo(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
}

/** A DRM client: one open file, seen through any of its fds in any process. */
export interface ClientUsage extends FdUsage {
  /** The processes holding it, with their command names. */
  pids: Array<{ pid: number; comm: string }>;
}

/**
 * Every DRM client of `driver` this process may read the fdinfo of, each
 * once (fds that share an open file share its drm-client-id).
 */
export function drmClients(driver: string): ClientUsage[] {
  const clients = new Map<number, ClientUsage>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let usage: FdUsage | undefined;
      try {
        usage = fdUsage(Number(fd), pid);
      } catch {
        continue;
      }
      if (!usage || usage.driver !== driver) continue;
      const known = clients.get(usage.clientId);
      if (known) {
        if (!known.pids.some((p) => p.pid === pid)) known.pids.push({ pid, comm: comm(pid) });
      } else {
        clients.set(usage.clientId, { ...usage, pids: [{ pid, comm: comm(pid) }] });
      }
    }
  }
  return [...clients.values()].sort((a, b) => a.clientId - b.clientId);
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}
