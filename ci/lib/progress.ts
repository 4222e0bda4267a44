/** Progress lines for long steps, with their duration. */

export function log(message: string): void {
  process.stderr.write(`ossa: ${message}\n`);
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Runs `fn` as a named step, printing its start and how long it took. */
export async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  log(`${name} ...`);
  try {
    const result = await fn();
    log(`${name}: done in ${formatSeconds(performance.now() - start)}`);
    return result;
  } catch (err) {
    log(`${name}: failed after ${formatSeconds(performance.now() - start)}`);
    throw err;
  }
}

/** A failure that is the user's to fix, printed without a stack trace. */
export class BuildError extends Error {
  override readonly name = 'BuildError';
}
