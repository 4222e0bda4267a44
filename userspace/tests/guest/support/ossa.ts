/** Helpers of the conformance suite: raw ioctls with chosen fields, errno capture. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Device } from '../../../src/index.js';
import { runTool } from './tool.js';

// The DRM core's helpers are the accel-core kit's: they take a Device as
// they take the kit's files, and know the library's errors by errno.
export { BAD_POINTER, errnoOf, errnoOfAsync, raw, u32Array } from '../../../src/accel-core/file.js';
export { openFdsOf, SYNCOBJ_FD, syncobjWait } from '../../../src/accel-core/objects.js';

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

/**
 * The errno name (or 'ok') of an ioctl whose argument pointer is `pointer`
 * (default NULL), issued from C (tools/ioctl-bad-pointer): the library's
 * binding refuses to pass a buffer shorter than the request's size.
 */
export async function badPointerIoctl(request: number, pointer = 0n): Promise<string> {
  const { stdout } = await runTool('/ossa/tools/ioctl-bad-pointer', [ossaNode(), request.toString(16), pointer.toString(16)]);
  const m = /^result (\S+)$/m.exec(stdout);
  if (!m) throw new Error(`ioctl-bad-pointer printed no result: ${stdout}`);
  return m[1] as string;
}
