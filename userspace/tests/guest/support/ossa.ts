/** Helpers of the conformance suite: raw ioctls with chosen fields, errno capture. */
import { Device, OssaError } from '../../../src/index.js';
import { native } from '../../../src/native.js';
import { Struct, type StructDef } from '../../../src/struct.js';

export const WAIT_MS = 20_000;

/** The errno code an action fails with, or 'ok'. */
export function errnoOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof OssaError) return err.code;
    throw err;
  }
  return 'ok';
}

export async function errnoOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof OssaError) return err.code;
    throw err;
  }
  return 'ok';
}

/** Runs an ioctl on a struct with exactly the given fields; returns its errno code or 'ok'. */
export function raw<F extends string>(
  dev: Device,
  name: string,
  request: number,
  def: StructDef<F>,
  fields: Partial<Record<F, number | bigint>>,
): { code: string; out: Struct<F> } {
  const s = Struct.from(def, fields);
  return { code: errnoOf(() => dev.ioctl(name, request, s.bytes)), out: s };
}

/** A buffer of u32 values and its address, for pointer fields. */
export function u32Array(values: readonly number[]): { buf: Buffer; addr: bigint } {
  const buf = Buffer.alloc(Math.max(4, values.length * 4));
  values.forEach((v, i) => buf.writeUInt32LE(v >>> 0, i * 4));
  return { buf, addr: native().address(buf) };
}

/** An address no process maps: the kernel must answer EFAULT. */
export const BAD_POINTER = 0xdead_0000_0000n;
