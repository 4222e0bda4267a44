/**
 * The ossa device as a hot-pluggable PCIe function: it sits alone behind a
 * root port, so that the host can remove it from the running machine and
 * plug it back, as a guest test asks on the control port (protocol.ts).
 * The guest sees an ACPI eject request (q35's default hotplug for root
 * ports) and removes the driver before QEMU deletes the device.
 * ci/lib/control.ts hands these requests here.
 */
import { type ControlRequest } from './protocol.js';
import { type JsonObject, Qmp } from './qmp.js';

const DEVICE_ID = 'ossa0';
const PORT_ID = 'ossa-port';
/** How long the guest may take to release the device once asked. */
const UNPLUG_TIMEOUT_MS = 120_000;

/** The ossa device's properties, at boot and when it is plugged back. */
const DEVICE_PROPS = { driver: 'ossa', id: DEVICE_ID, bus: PORT_ID, 'fault-injection': true } as const;

/** Properties a lane adds to the device's (e.g. `{ 'dma-bits': 32 }`); never its driver, id or bus. */
export type OssaProperties = Record<string, string | number | boolean> & { driver?: never; id?: never; bus?: never };

/** QEMU arguments for the root port and the ossa device in it. */
export function ossaDeviceArgs(extra: OssaProperties = {}): string[] {
  const props = Object.entries<string | number | boolean>({ ...DEVICE_PROPS, ...extra }).map(([k, v]) =>
    k === 'driver' ? v : `${k}=${v === true ? 'on' : v === false ? 'off' : v}`,
  );
  return ['-device', `pcie-root-port,id=${PORT_ID},chassis=1`, '-device', props.join(',')];
}

/** Carries out an unplug or replug request on the machine behind `q`; resolves with the ms it took. */
export async function hotplugRequest(
  request: Extract<ControlRequest, { op: 'unplug' | 'replug' }>,
  q: Qmp,
  extra: OssaProperties = {},
): Promise<number> {
  const start = performance.now();
  if (request.op === 'unplug') {
    const since = q.events.length;
    await q.execute('device_del', { id: DEVICE_ID });
    // QEMU reports the device's own deletion by its id (its parts have none).
    await q.waitEvent('DEVICE_DELETED', since, UNPLUG_TIMEOUT_MS, (e) => (e.data as JsonObject | undefined)?.device === DEVICE_ID);
  } else {
    await q.execute('device_add', { ...DEVICE_PROPS, ...extra, ...(request.msix === false ? { msix: false } : {}) });
  }
  return Math.round(performance.now() - start);
}
