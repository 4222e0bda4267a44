/**
 * Absolute timeouts, as the kernel's wait ioctls take them: CLOCK_MONOTONIC
 * in ns. process.hrtime.bigint() reads that clock (libuv's uv_hrtime()).
 */

/** The CLOCK_MONOTONIC time `timeoutMs` from now, in ns; a negative timeout is now. */
export function deadlineNs(timeoutMs: number): bigint {
  return process.hrtime.bigint() + BigInt(Math.max(0, Math.round(timeoutMs * 1e6)));
}
