/** Order statistics of the benchmarks' samples, in the guest and on the host. */

/** The p-th percentile (0–100) of the samples, nearest rank below; NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** The median: the 50th percentile as above (the upper of two middles). */
export const median = (xs: readonly number[]): number => percentile(xs, 50);
