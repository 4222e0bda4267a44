/**
 * Command streams written into one persistent buffer per device (device
 * read-only, mapped once), handed out in order as a ring. A job's stretch
 * is free again once the job is done, which the ring learns from a
 * timeline syncobj of its own: the job signals its point (a SIGNAL sync in
 * its SUBMIT), and DRM_IOCTL_SYNCOBJ_QUERY reads the last point that has
 * signalled with every point before it. The ring queries only when it runs
 * out of room, so in steady state a submission adds no ioctl and allocates
 * nothing. A job that fails or is cancelled signals its point too.
 */
import type { DeviceBuffer } from './buffer.js';
import { DRM_IOCTL_SYNCOBJ_QUERY, DrmSyncobjTimelineArray } from './drm.js';
import type { Device } from './device.js';
import { native } from './native.js';
import { Struct } from './struct.js';

/** Bytes of the ring buffer. */
export const RING_SIZE = 1 << 20;
/** Streams above this get a buffer of their own. */
export const RING_MAX_STREAM = 64 << 10;
/** Each stretch starts on this boundary (cmd_va must be 8-aligned). */
const ALIGN = 64;
/** At most this many stretches in flight; past them, as in a full ring, streams get buffers of their own. */
const MAX_STRETCHES = RING_SIZE / ALIGN;
const TWO32 = 2 ** 32;

export class CommandRing {
  readonly buffer: DeviceBuffer;
  /** The timeline syncobj whose points the ring's jobs signal. */
  readonly timeline: number;
  readonly #map: Uint8Array;
  readonly #vaLo: number;
  readonly #vaHi: number;
  /** Stretches in flight, oldest first: start, end and point, in a circular queue. */
  readonly #start = new Uint32Array(MAX_STRETCHES);
  readonly #end = new Uint32Array(MAX_STRETCHES);
  readonly #point = new Float64Array(MAX_STRETCHES);
  #first = 0;
  #count = 0;
  /** Where the next stretch goes. */
  #head = 0;
  /** The next point to hand out (points below 2^53). */
  #nextPoint = 1;
  /** DRM_IOCTL_SYNCOBJ_QUERY's argument and its two arrays, made once. */
  readonly #query: Struct<'handles' | 'points' | 'count_handles' | 'flags'>;
  readonly #queryHandle = new Uint32Array(1);
  readonly #queryPoint = new BigUint64Array(1);

  constructor(
    private readonly device: Device,
    buffer: DeviceBuffer,
    timeline: number,
  ) {
    this.buffer = buffer;
    this.timeline = timeline;
    this.#map = buffer.map();
    const va = Number(buffer.va);
    this.#vaLo = va % TWO32;
    this.#vaHi = Math.floor(va / TWO32);
    this.#queryHandle[0] = timeline;
    this.#query = Struct.from(DrmSyncobjTimelineArray, {
      handles: native().address(this.#queryHandle),
      points: native().address(this.#queryPoint),
      count_handles: 1,
    });
  }

  /** The ring's mapping, to write streams into. */
  get bytes(): Uint8Array {
    return this.#map;
  }

  /** The low and high 32 bits of the device VA of `offset`. */
  vaLo(offset: number): number {
    return (this.#vaLo + offset) % TWO32;
  }

  vaHi(offset: number): number {
    return this.#vaHi + Math.floor((this.#vaLo + offset) / TWO32);
  }

  /** The point the next reserved stretch's job signals. */
  get nextPoint(): number {
    return this.#nextPoint;
  }

  /**
   * Reserves `size` bytes for the job that signals the next point; returns
   * their offset, or -1 when there is no room even after learning which
   * jobs are done (the caller then uses a buffer of its own). release()
   * or rewind() must follow before the next submission.
   */
  reserve(size: number): number {
    if (size > RING_MAX_STREAM) return -1;
    let at = this.#fit(size);
    if (at < 0 && this.#count) {
      this.#reclaim();
      at = this.#fit(size);
    }
    if (at < 0) return -1;
    const slot = (this.#first + this.#count) % MAX_STRETCHES;
    this.#start[slot] = at;
    this.#end[slot] = at + size;
    this.#point[slot] = this.#nextPoint++;
    this.#count++;
    this.#head = at + Math.ceil(size / ALIGN) * ALIGN;
    return at;
  }

  /**
   * Undoes the reservations since `mark` (a submission that queued
   * nothing): the newest stretches, one per point handed out since. Older
   * ones that a reclaim freed meanwhile stay freed.
   */
  rewind(mark: { head: number; nextPoint: number }): void {
    this.#count -= this.#nextPoint - mark.nextPoint;
    this.#nextPoint = mark.nextPoint;
    this.#head = mark.head;
  }

  /** The state rewind() goes back to; written into `into`, which the caller keeps. */
  mark(into: { head: number; nextPoint: number }): void {
    into.head = this.#head;
    into.nextPoint = this.#nextPoint;
  }

  /** An offset where `size` bytes fit without reaching a stretch in flight, or -1. */
  #fit(size: number): number {
    if (this.#count >= MAX_STRETCHES) return -1;
    if (this.#count === 0) {
      this.#head = 0;
      return size <= RING_SIZE ? 0 : -1;
    }
    const tail = this.#start[this.#first] as number;
    if (this.#head > tail) {
      // Free: [head, end of ring) and, wrapping, [0, tail).
      if (this.#head + size <= RING_SIZE) return this.#head;
      return size <= tail ? 0 : -1;
    }
    // head <= tail: free is [head, tail) (head == tail: the ring is full).
    return this.#head < tail && this.#head + size <= tail ? this.#head : -1;
  }

  /** Frees the stretches of every job whose point has signalled (with all before it). */
  #reclaim(): void {
    this.#queryPoint[0] = 0n;
    this.device.ioctl('DRM_IOCTL_SYNCOBJ_QUERY', DRM_IOCTL_SYNCOBJ_QUERY, this.#query.bytes);
    const done = Number(this.#queryPoint[0]);
    while (this.#count && (this.#point[this.#first] as number) <= done) {
      this.#first = (this.#first + 1) % MAX_STRETCHES;
      this.#count--;
    }
  }
}
