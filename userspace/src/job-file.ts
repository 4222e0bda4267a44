/**
 * `ossa run <job.json>`: a job described in JSON (docs/cli.md), checked
 * field by field, run, and the requested bytes dumped.
 */
import { randomFillSync } from 'node:crypto';
import type { DeviceBuffer } from './buffer.js';
import { CommandStream } from './commands.js';
import type { Device } from './device.js';

/** A job file that does not say what it must: exit status 2. */
export class JobFileError extends Error {}

export interface JobFileResult {
  state: 'signaled' | 'error' | 'pending';
  errno?: number;
  ms: number;
  dumps: Array<{ buffer: string; offset: number; hex: string }>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

class Reader {
  constructor(
    readonly file: string,
    readonly buffers: Map<string, DeviceBuffer>,
  ) {}

  fail(path: string, what: string): never {
    throw new JobFileError(`${this.file}: ${path}: ${what}`);
  }

  object(v: Json | undefined, path: string): JsonObject {
    return isObject(v) ? v : this.fail(path, 'must be an object');
  }

  int(o: JsonObject, key: string, path: string, options: { min?: number; max?: number; optional?: number } = {}): number {
    const v = o[key];
    if (v === undefined && options.optional !== undefined) return options.optional;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return this.fail(`${path}.${key}`, 'must be an integer');
    if (v < (options.min ?? 0) || v > (options.max ?? Number.MAX_SAFE_INTEGER)) {
      return this.fail(`${path}.${key}`, `must be in ${options.min ?? 0}..${options.max ?? Number.MAX_SAFE_INTEGER}`);
    }
    return v;
  }

  /** "name" or "name+offset": a device VA inside a declared buffer. */
  address(o: JsonObject, key: string, path: string): bigint {
    const v = o[key];
    if (typeof v !== 'string') return this.fail(`${path}.${key}`, 'must be "buffer" or "buffer+offset"');
    const m = /^([A-Za-z_][\w-]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(v);
    if (!m) return this.fail(`${path}.${key}`, `"${v}" is not "buffer" or "buffer+offset"`);
    const bo = this.buffers.get(m[1] as string);
    if (!bo) return this.fail(`${path}.${key}`, `no buffer "${m[1]}"`);
    const offset = m[2] ? Number(m[2]) : 0;
    if (offset > bo.size) this.fail(`${path}.${key}`, `offset ${offset} is past the end of "${m[1]}" (${bo.size} bytes)`);
    return bo.va + BigInt(offset);
  }
}

function encode(r: Reader, commands: Json | undefined): CommandStream {
  if (!Array.isArray(commands) || commands.length === 0) r.fail('commands', 'must be a non-empty array');
  const s = new CommandStream();
  commands.forEach((c, i) => {
    const path = `commands[${i}]`;
    const o = r.object(c, path);
    switch (o.op) {
      case 'nop':
        s.nop();
        break;
      case 'copy':
        s.copy(r.address(o, 'src', path), r.address(o, 'dst', path), r.int(o, 'size', path));
        break;
      case 'fill':
        s.fill(r.address(o, 'dst', path), r.int(o, 'size', path), r.int(o, 'value', path, { max: 0xffff_ffff }));
        break;
      case 'crc32c':
        s.crc32c(r.address(o, 'src', path), r.int(o, 'size', path), r.address(o, 'dst', path), r.int(o, 'seed', path, { max: 0xffff_ffff, optional: 0 }));
        break;
      case 'fma_f32':
        s.fmaF32(r.int(o, 'count', path, { max: 0xffff_ffff }), r.address(o, 'a', path), r.address(o, 'b', path), r.address(o, 'c', path), r.address(o, 'd', path));
        break;
      case 'fence':
        s.fence(r.address(o, 'addr', path), BigInt(r.int(o, 'value', path)), { irq: o.irq === true });
        break;
      case 'timestamp':
        s.timestamp(r.address(o, 'addr', path));
        break;
      default:
        r.fail(`${path}.op`, `unknown op ${JSON.stringify(o.op ?? null)} (nop, copy, fill, crc32c, fma_f32, fence, timestamp)`);
    }
  });
  return s;
}

/** Parses, runs and dumps a job file's job. */
export async function runJobFile(dev: Device, text: string, file: string, timeoutMs = 60_000): Promise<JobFileResult> {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    throw new JobFileError(`${file}: not JSON: ${(err as Error).message}`);
  }
  const buffers = new Map<string, DeviceBuffer>();
  const r = new Reader(file, buffers);
  try {
    const top = r.object(doc, '(top)');
    const decl = r.object(top.buffers, 'buffers');
    for (const [name, spec] of Object.entries(decl)) {
      const path = `buffers.${name}`;
      const o = r.object(spec, path);
      const bo = dev.createBuffer(r.int(o, 'size', path, { min: 1 }), { deviceReadOnly: o.deviceReadOnly === true });
      buffers.set(name, bo);
      if (o.init === 'random') randomFillSync(bo.map());
      else if (isObject(o.init)) bo.map().fill(r.int(o.init, 'byte', `${path}.init`, { max: 255 }));
      else if (o.init !== undefined && o.init !== 'zero') r.fail(`${path}.init`, 'must be "zero", "random" or {"byte": N}');
    }
    const stream = encode(r, top.commands);
    const queue = r.int(top, 'queue', '(top)', { optional: 0, max: 255 });
    const start = performance.now();
    using fence = dev.submit({ queue, commands: stream, buffers: [...buffers.values()] });
    const state = await fence.settle(timeoutMs);
    const ms = performance.now() - start;
    const dumps = (Array.isArray(top.dump) ? top.dump : []).map((d, i) => {
      const o = r.object(d, `dump[${i}]`);
      const name = typeof o.buffer === 'string' ? o.buffer : r.fail(`dump[${i}].buffer`, 'must be a buffer name');
      const bo = buffers.get(name) ?? r.fail(`dump[${i}].buffer`, `no buffer "${name}"`);
      const offset = r.int(o, 'offset', `dump[${i}]`, { optional: 0, max: bo.size });
      const length = r.int(o, 'length', `dump[${i}]`, { max: bo.size - offset });
      return { buffer: name, offset, hex: Buffer.from(bo.map().subarray(offset, offset + length)).toString('hex') };
    });
    return { state: state.state, ...(state.state === 'error' ? { errno: state.errno } : {}), ms, dumps };
  } finally {
    for (const bo of buffers.values()) bo.close();
  }
}
