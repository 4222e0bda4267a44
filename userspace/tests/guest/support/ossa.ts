/** Helpers of the conformance suite: raw ioctls with chosen fields, errno capture. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { DRM_IOCTL_SYNCOBJ_WAIT, DrmSyncobjWait } from '../../../src/drm.js';
import { wrapNativeError } from '../../../src/errors.js';
import { Device, OssaError } from '../../../src/index.js';
import { native } from '../../../src/native.js';
import { Struct, type StructDef } from '../../../src/struct.js';

export const WAIT_MS = 20_000;

/** A device VA no context maps (in range, far from any test's buffers): the MMU faults on it. */
export const UNMAPPED_VA = 0x7000_0000_00n;

/**
 * Whether the guest runs the debug kernel (lockdep, KASAN...), on which
 * ioctls are many times slower: stress tests size their load by it, so
 * that they stay within the runner's time for one test.
 */
export const DEBUG_KERNEL = existsSync('/proc/lockdep');

/** The first ossa device's node, with no file of it left open. */
export function ossaNode(): string {
  using dev = Device.open();
  return dev.path;
}

/**
 * The errno code an action fails with, or 'ok'. Errors of the library
 * (OssaError) and of the native binding (mmap, close...) both count; any
 * other error is rethrown.
 */
export function errnoOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const e = wrapNativeError(err, 'native');
    if (e instanceof OssaError) return e.code;
    throw e;
  }
  return 'ok';
}

/**
 * What an action throws, or undefined when it returns: for asserting on
 * the error outside any try/catch, so that no assertion is swallowed.
 */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
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

/**
 * DRM_IOCTL_SYNCOBJ_WAIT on libuv's thread pool for up to `timeoutMs`:
 * 'ok' when the syncobjs signalled (all of them with WAIT_ALL), 'ETIME'
 * when the time ran out, or the errno code the kernel answered.
 */
export async function syncobjWait(dev: Device, handles: readonly number[], timeoutMs: number, flags = 0): Promise<string> {
  // The struct and the handle array share one buffer, which the binding
  // keeps alive until the call returns.
  const mem = Buffer.alloc(DrmSyncobjWait.size + 4 * Math.max(1, handles.length));
  const arr = mem.subarray(DrmSyncobjWait.size);
  handles.forEach((h, i) => arr.writeUInt32LE(h, 4 * i));
  new Struct(DrmSyncobjWait, mem)
    .set('handles', native().address(arr))
    .set('count_handles', handles.length)
    .set('timeout_nsec', process.hrtime.bigint() + BigInt(Math.round(timeoutMs * 1e6)))
    .set('flags', flags);
  return errnoOfAsync(() => dev.ioctlAsync('DRM_IOCTL_SYNCOBJ_WAIT', DRM_IOCTL_SYNCOBJ_WAIT, mem));
}

/**
 * How many of this process's fds are open on a file of the given kind,
 * by the target of /proc/self/fd/N: e.g. 'anon_inode:syncobj_file' (a
 * syncobj fd) or 'anon_inode:sync_file'.
 */
export function openFdsOf(target: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === target) n++;
    } catch {
      // closed meanwhile (e.g. the directory's own fd)
    }
  }
  return n;
}

/** The kind of file /proc/self/fd shows for a syncobj fd. */
export const SYNCOBJ_FD = 'anon_inode:syncobj_file';

/**
 * The errno name (or 'ok') of an ioctl whose argument pointer is `pointer`
 * (default NULL), issued from C (tools/ioctl-bad-pointer): the library's
 * binding refuses to pass a buffer shorter than the request's size.
 */
export async function badPointerIoctl(request: number, pointer = 0n): Promise<string> {
  const { stdout } = await promisify(execFile)('/ossa/tools/ioctl-bad-pointer', [ossaNode(), request.toString(16), pointer.toString(16)], {
    timeout: 60_000,
  });
  const m = /^result (\S+)$/m.exec(stdout);
  if (!m) throw new Error(`ioctl-bad-pointer printed no result: ${stdout}`);
  return m[1] as string;
}
