/**
 * The control port: a virtio-serial port named CONTROL_PORT on which a
 * program in the guest asks the host running the machine (the project's
 * runner, ci/lib/vm.ts) to act on it: one JSON request per line, each
 * answered by one JSON reply line. The trace tool asks for the device's
 * trace events through it; the suite's tests also unplug and replug the
 * device. A machine booted another way has no such port.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

export const CONTROL_PORT = 'org.ossa.control';

/**
 * Remove the ossa device from the machine (QMP device_del), or plug it
 * back (device_add), as it was booted or, with `msix: false`, without
 * MSI-X; or start or stop recording the device's trace events (QEMU's
 * ossa_* events, with the host's timestamps), whose lines since the start
 * the stop's reply carries.
 */
export type ControlRequest = { op: 'unplug' } | { op: 'replug'; msix?: boolean } | { op: 'device-trace'; enable: boolean };

/**
 * `ms`: how long the host took (for unplug, until QEMU reported the device
 * gone); `lines`: a device-trace stop's trace lines.
 */
export type ControlReply = { ok: true; ms: number; lines?: string[] } | { ok: false; message: string };

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
export async function hostRequest(request: ControlRequest): Promise<{ ms: number; lines?: string[] }> {
  const path = controlPort();
  if (!path) throw new Error(`no ${CONTROL_PORT} port: the host cannot be asked`);
  const port = await open(path, 'r+');
  try {
    await port.write(`${JSON.stringify(request)}\n`);
    const chunks: Buffer[] = [];
    const chunk = Buffer.alloc(65536);
    for (;;) {
      const { bytesRead } = await port.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) throw new Error(`${CONTROL_PORT}: the host closed the port without answering ${request.op}`);
      const part = chunk.subarray(0, bytesRead);
      chunks.push(Buffer.from(part));
      if (part.includes(0x0a)) break;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const reply = JSON.parse(text.slice(0, text.indexOf('\n'))) as ControlReply;
    if (!reply.ok) throw new Error(`the host could not ${request.op === 'device-trace' ? 'trace' : request.op} the device: ${reply.message}`);
    return reply.lines ? { ms: reply.ms, lines: reply.lines } : { ms: reply.ms };
  } finally {
    await port.close();
  }
}
