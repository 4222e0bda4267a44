/**
 * Requests to the host, over the control port (src/trace/host-port.ts): remove
 * the ossa device from the machine, as a hot-unplug does, and plug it back.
 * Only under the project's guest runner, which provides the port.
 */
export { controlPort } from '../../../src/trace/host-port.js';
import { hostRequest as request, type ControlRequest } from '../../../src/trace/host-port.js';

/** Sends one request; resolves with how long the host took, in ms. */
export async function hostRequest(r: ControlRequest): Promise<number> {
  return (await request(r)).ms;
}
