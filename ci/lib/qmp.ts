/**
 * A minimal QMP client (QEMU's JSON monitor protocol) over a connected
 * socket: capabilities negotiation, commands with ids, events.
 */
import type { Socket } from 'node:net';

/** QEMU died, failed a command, or did not answer. */
export class QemuError extends Error {
  override name = 'QemuError';
}

/** Reads newline-terminated lines from a socket. */
export function onLines(sock: Socket, handler: (line: string) => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      handler(line);
      nl = buf.indexOf('\n');
    }
  });
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

/** A caller of Qmp.waitEvent() waiting for an event not seen yet. */
interface EventWaiter {
  name: string;
  match: (e: JsonObject) => boolean;
  resolve: (e: JsonObject) => void;
  reject: (e: Error) => void;
}

/** A minimal QMP client over an accepted socket. */
export class Qmp {
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (v: JsonValue) => void; reject: (e: Error) => void }>();
  private greeted: Promise<void>;
  readonly events: JsonObject[] = [];
  private eventWaiters: EventWaiter[] = [];
  private closedError: Error | undefined;

  constructor(private readonly sock: Socket) {
    let onGreeting: () => void = () => undefined;
    this.greeted = new Promise((r) => {
      onGreeting = r;
    });
    sock.on('error', (e: Error) => this.fail(new QemuError(`QMP socket error: ${e.message}`)));
    sock.on('close', () => this.fail(new QemuError('QMP socket closed')));
    onLines(sock, (line) => {
      if (!line.trim()) return;
      const msg = JSON.parse(line) as JsonObject;
      if ('QMP' in msg) {
        onGreeting();
      } else if (typeof msg.event === 'string') {
        this.events.push(msg);
        const name = msg.event;
        const wanted = (w: EventWaiter): boolean => w.name === name && w.match(msg);
        const waiters = this.eventWaiters.filter(wanted);
        this.eventWaiters = this.eventWaiters.filter((w) => !wanted(w));
        for (const w of waiters) w.resolve(msg);
      } else {
        const id = String(msg.id);
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        if ('error' in msg) p.reject(new QemuError(`QMP error: ${JSON.stringify(msg.error)}`));
        else p.resolve(msg.return ?? null);
      }
    });
  }

  fail(err: Error): void {
    this.closedError ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const w of this.eventWaiters.splice(0)) w.reject(err);
  }

  async handshake(timeoutMs = 20_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QemuError('no QMP greeting')), timeoutMs);
    });
    try {
      await Promise.race([this.greeted, timeout]);
    } finally {
      clearTimeout(timer);
    }
    await this.execute('qmp_capabilities');
  }

  execute(command: string, args?: JsonObject): Promise<JsonValue> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = String(this.nextId++);
    const msg: JsonObject = { execute: command, id };
    if (args) msg.arguments = args;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(`${JSON.stringify(msg)}\n`);
    });
  }

  /**
   * Resolves at the next event `name` that `match` accepts (or the first
   * one already seen after `since`).
   */
  waitEvent(name: string, since = 0, timeoutMs = 10_000, match: (e: JsonObject) => boolean = () => true): Promise<JsonObject> {
    const seen = this.events.slice(since).find((e) => e.event === name && match(e));
    if (seen) return Promise.resolve(seen);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new QemuError(`no QMP event ${name}`)), timeoutMs);
      this.eventWaiters.push({
        name,
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  async qomGet(path: string, property: string): Promise<JsonValue> {
    return this.execute('qom-get', { path, property });
  }

  async qomSet(path: string, property: string, value: JsonValue): Promise<void> {
    await this.execute('qom-set', { path, property, value });
  }

  async qomList(path: string): Promise<Array<{ name: string; type: string }>> {
    return (await this.execute('qom-list', { path })) as Array<{ name: string; type: string }>;
  }

  close(): void {
    this.sock.destroy();
  }
}
