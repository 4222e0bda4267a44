/**
 * The host's end of the control port (protocol.ts): each request line of
 * the guest, parsed, checked and carried out on the machine through QMP.
 */
import { DeviceTrace } from './device-trace.js';
import { hotplugRequest, type OssaProperties } from './hotplug.js';
import { type ControlReply, type ControlRequest } from './protocol.js';
import type { Qmp } from './qmp.js';

function isRequest(v: unknown): v is ControlRequest {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { op?: unknown; enable?: unknown };
  return r.op === 'unplug' || r.op === 'replug' || (r.op === 'device-trace' && typeof r.enable === 'boolean');
}

/** Carries out one request line of the guest on the machine behind `qmp`. */
export async function handleControl(
  line: string,
  qmp: () => Promise<Qmp>,
  trace: DeviceTrace,
  extra: OssaProperties = {},
): Promise<ControlReply> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { ok: false, message: `not JSON: ${line.slice(0, 80)}` };
  }
  if (!isRequest(request)) return { ok: false, message: `unknown request: ${line.slice(0, 80)}` };
  const start = performance.now();
  try {
    const q = await qmp();
    if (request.op !== 'device-trace') return { ok: true, ms: await hotplugRequest(request, q, extra) };
    if (request.enable) {
      await trace.start(q);
      return { ok: true, ms: Math.round(performance.now() - start) };
    }
    const lines = await trace.stop(q);
    return { ok: true, ms: Math.round(performance.now() - start), lines };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}
