/**
 * DRM_IOCTL_OSSA_SUBMIT's argument, kept per device and reused: the submit
 * struct, then the job table, the BO references and the syncs, in one
 * buffer whose address does not change (an ArrayBuffer's bytes do not
 * move; the buffer is replaced, rarely, when a submission needs more).
 * Fields are written through a DataView at the offsets uapi.ts lays out,
 * so that encoding a submission allocates nothing.
 */
import { native } from './native.js';
import { DrmOssaBoRef, DrmOssaJob, DrmOssaSubmit, DrmOssaSync } from './uapi.js';

const TWO32 = 2 ** 32;
const J = DrmOssaJob.fields;
const S = DrmOssaSubmit.fields;
const R = DrmOssaBoRef.fields;
const Y = DrmOssaSync.fields;

export const SUBMIT_SIZE = DrmOssaSubmit.size;
export const JOB_SIZE = DrmOssaJob.size;
export const REF_SIZE = DrmOssaBoRef.size;
export const SYNC_SIZE = DrmOssaSync.size;

export class SubmitArgs {
  #bytes = new Uint8Array(0);
  #view = new DataView(this.#bytes.buffer);
  #base = 0;

  /** The whole argument; the submit struct is at its start. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Makes room for `size` bytes and zeroes them. */
  prepare(size: number): void {
    if (this.#bytes.length < size) {
      this.#bytes = new Uint8Array(Math.max(size, 2 * this.#bytes.length, 4096));
      this.#view = new DataView(this.#bytes.buffer);
      this.#base = Number(native().address(this.#bytes));
    }
    this.#bytes.fill(0, 0, size);
  }

  u32(offset: number, value: number): void {
    this.#view.setUint32(offset, value, true);
  }

  /** A u64 from its low and high 32 bits. */
  u64(offset: number, lo: number, hi: number): void {
    this.#view.setUint32(offset, lo >>> 0, true);
    this.#view.setUint32(offset + 4, hi >>> 0, true);
  }

  big(offset: number, value: bigint): void {
    this.#view.setBigUint64(offset, value, true);
  }

  /** Writes the address of `target` (an offset in the argument) as a u64 at `offset`. */
  address(offset: number, target: number): void {
    const a = this.#base + target;
    this.u64(offset, a % TWO32, Math.floor(a / TWO32));
  }

  /** The submit struct's fields. */
  submit(jobs: number, count: number): void {
    this.address(S['jobs.array'].offset, jobs);
    this.u32(S['jobs.count'].offset, count);
    this.u32(S['jobs.stride'].offset, JOB_SIZE);
  }

  /** Job `at`'s table entry; `refs` and `syncs` are offsets in the argument. */
  job(at: number, cmdLo: number, cmdHi: number, cmdSize: number, queue: number, refs: number, nRefs: number, syncs: number, nSyncs: number): void {
    this.u64(at + J.cmd_va.offset, cmdLo, cmdHi);
    this.u32(at + J.cmd_size.offset, cmdSize);
    this.u32(at + J.queue.offset, queue);
    this.address(at + J['bos.array'].offset, refs);
    this.u32(at + J['bos.count'].offset, nRefs);
    this.u32(at + J['bos.stride'].offset, REF_SIZE);
    this.address(at + J['syncs.array'].offset, syncs);
    this.u32(at + J['syncs.count'].offset, nSyncs);
    this.u32(at + J['syncs.stride'].offset, SYNC_SIZE);
  }

  /** Job `at`'s status after a failed SUBMIT. */
  status(at: number): number {
    return this.#view.getInt32(at + J.status.offset, true);
  }

  ref(at: number, handle: number, flags: number): void {
    this.u32(at + R.handle.offset, handle);
    this.u32(at + R.flags.offset, flags);
  }

  /** A sync at a point given as a number below 2^53. */
  sync(at: number, handle: number, flags: number, point: number): void {
    this.u32(at + Y.handle.offset, handle);
    this.u32(at + Y.flags.offset, flags);
    this.u64(at + Y.point.offset, point % TWO32, Math.floor(point / TWO32));
  }

  /** A sync at a point given as a bigint. */
  syncAt(at: number, handle: number, flags: number, point: bigint): void {
    this.u32(at + Y.handle.offset, handle);
    this.u32(at + Y.flags.offset, flags);
    this.big(at + Y.point.offset, point);
  }
}
