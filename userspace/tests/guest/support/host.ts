/**
 * Requests to the host, over the control port (ci/lib/protocol.ts): remove
 * the ossa device from the machine, as a hot-unplug does, and plug it back.
 * Only under the project's guest runner, which provides the port.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { CONTROL_PORT, type ControlReply, type ControlRequest } from '../../../../ci/lib/protocol.js';

/** The control port's device node, or undefined when the host gave none. */
export function controlPort(): string | undefined {
  const dir = '/sys/class/virtio-ports';
  let ports: string[];
  try {
    ports = readdirSync(dir);
  } catch {
    return undefined;
  }
  const port = ports.find((p) => {
    try {
      return readFileSync(`${dir}/${p}/name`, 'utf8').trim() === CONTROL_PORT;
    } catch {
      return false;
    }
  });
  return port ? `/dev/${port}` : undefined;
}

/** Sends one request and resolves with the host's reply; throws if the host refused or failed it. */
export async function hostRequest(request: ControlRequest): Promise<number> {
  const path = controlPort();
  if (!path) throw new Error(`no ${CONTROL_PORT} port: the host cannot be asked`);
  const port = await open(path, 'r+');
  try {
    await port.write(`${JSON.stringify(request)}\n`);
    let text = '';
    const chunk = Buffer.alloc(4096);
    while (!text.includes('\n')) {
      const { bytesRead } = await port.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) throw new Error(`${CONTROL_PORT}: the host closed the port without answering ${request.op}`);
      text += chunk.toString('utf8', 0, bytesRead);
    }
    const reply = JSON.parse(text.slice(0, text.indexOf('\n'))) as ControlReply;
    if (!reply.ok) throw new Error(`host could not ${request.op} the device: ${reply.message}`);
    return reply.ms;
  } finally {
    await port.close();
  }
}
