/**
 * The DRM core's objects on an accel file: buffer handles (GEM_CLOSE),
 * dma-bufs (PRIME) and syncobjs, each a plain ioctl with its errors.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import {
  DRM_CLOEXEC,
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_PRIME_FD_TO_HANDLE,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_DESTROY,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_RESET,
  DRM_IOCTL_SYNCOBJ_SIGNAL,
  DRM_IOCTL_SYNCOBJ_WAIT,
  DRM_RDWR,
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DrmGemClose,
  DrmPrimeHandle,
  DrmSyncobjArray,
  DrmSyncobjCreate,
  DrmSyncobjDestroy,
  DrmSyncobjHandle,
  DrmSyncobjWait,
} from '../drm.js';
import { native } from '../native.js';
import { Struct, type StructDef } from '../struct.js';
import { type AccelFile, errnoOfAsync, type IoctlFile, u32Array } from './file.js';

/** One ioctl on a struct of `fields`; returns the field `out` of what the kernel wrote back. */
function call<F extends string>(
  file: AccelFile,
  name: string,
  request: number,
  def: StructDef<F>,
  fields: Partial<Record<F, number | bigint>>,
  out: NoInfer<F>,
): number {
  const s = Struct.from(def, fields);
  file.ioctl(name, request, s.bytes);
  return s.num(out);
}

export function gemClose(file: AccelFile, handle: number): void {
  file.ioctl('DRM_IOCTL_GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, Struct.from(DrmGemClose, { handle }).bytes);
}

/** PRIME_HANDLE_TO_FD: a dma-buf fd of the buffer, close-on-exec and read-write. */
export function exportBuffer(file: AccelFile, handle: number): number {
  return call(file, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', DRM_IOCTL_PRIME_HANDLE_TO_FD, DrmPrimeHandle, { handle, flags: DRM_CLOEXEC | DRM_RDWR, fd: -1 }, 'fd');
}

/** PRIME_FD_TO_HANDLE: this file's handle of a dma-buf. */
export function importBuffer(file: AccelFile, fd: number): number {
  return call(file, 'DRM_IOCTL_PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmPrimeHandle, { fd }, 'handle');
}

export function syncobjCreate(file: AccelFile, signaled = false): number {
  const flags = signaled ? DRM_SYNCOBJ_CREATE_SIGNALED : 0;
  return call(file, 'DRM_IOCTL_SYNCOBJ_CREATE', DRM_IOCTL_SYNCOBJ_CREATE, DrmSyncobjCreate, { flags }, 'handle');
}

export function syncobjDestroy(file: AccelFile, handle: number): void {
  file.ioctl('DRM_IOCTL_SYNCOBJ_DESTROY', DRM_IOCTL_SYNCOBJ_DESTROY, Struct.from(DrmSyncobjDestroy, { handle }).bytes);
}

/** SYNCOBJ_SIGNAL or SYNCOBJ_RESET: a drm_syncobj_array of `handles`. */
function syncobjArray(file: AccelFile, name: string, request: number, handles: readonly number[]): void {
  const arr = u32Array(handles);
  file.ioctl(name, request, Struct.from(DrmSyncobjArray, { handles: arr.addr, count_handles: handles.length }).bytes);
}

/** SYNCOBJ_SIGNAL: each syncobj gets a signalled stub fence. */
export function syncobjSignal(file: AccelFile, handles: readonly number[]): void {
  syncobjArray(file, 'DRM_IOCTL_SYNCOBJ_SIGNAL', DRM_IOCTL_SYNCOBJ_SIGNAL, handles);
}

/** SYNCOBJ_RESET: each syncobj loses its fence. */
export function syncobjReset(file: AccelFile, handles: readonly number[]): void {
  syncobjArray(file, 'DRM_IOCTL_SYNCOBJ_RESET', DRM_IOCTL_SYNCOBJ_RESET, handles);
}

/** SYNCOBJ_HANDLE_TO_FD: a syncobj fd, or with `syncFile` a sync_file of its fence. */
export function syncobjExport(file: AccelFile, handle: number, syncFile = false): number {
  const flags = syncFile ? DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE : 0;
  return call(file, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, DrmSyncobjHandle, { handle, flags, fd: -1 }, 'fd');
}

/** SYNCOBJ_FD_TO_HANDLE of a syncobj fd: this file's handle of it. */
export function syncobjImport(file: AccelFile, fd: number): number {
  return call(file, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, DrmSyncobjHandle, { fd }, 'handle');
}

/** SYNCOBJ_FD_TO_HANDLE of a sync_file: its fence into an existing syncobj. */
export function syncobjImportSyncFile(file: AccelFile, fd: number, handle: number): void {
  const h = Struct.from(DrmSyncobjHandle, { fd, handle, flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE });
  file.ioctl('DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, h.bytes);
}

/**
 * SYNCOBJ_WAIT on libuv's thread pool until an absolute CLOCK_MONOTONIC
 * deadline `timeoutMs` from now: 'ok' when the syncobjs signalled (all
 * of them with WAIT_ALL), 'ETIME' when the time ran out, or the errno
 * code the kernel answered. It holds a pool thread while it sleeps.
 */
export async function syncobjWait(file: IoctlFile, handles: readonly number[], timeoutMs: number, flags = 0): Promise<string> {
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
  return errnoOfAsync(() => file.ioctlAsync('DRM_IOCTL_SYNCOBJ_WAIT', DRM_IOCTL_SYNCOBJ_WAIT, mem));
}

/** What /proc/self/fd/N links to for a syncobj fd. */
export const SYNCOBJ_FD = 'anon_inode:syncobj_file';

/** How many of this process's fds are open on a file of the given kind (the target of /proc/self/fd/N). */
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
