/**
 * Steps that undo what was set up, run last first, each attempted even if
 * an earlier one fails; the first failure is thrown once all have run.
 * Running it again does nothing (so a second close() closes no fd number
 * that has since been reused).
 */
export class Undo {
  #steps: Array<() => void> = [];

  push(step: () => void): void {
    this.#steps.push(step);
  }

  run(): void {
    const steps = this.#steps.reverse();
    this.#steps = [];
    let failed = false;
    let first: unknown;
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        if (!failed) first = err;
        failed = true;
      }
    }
    if (failed) throw first;
  }

  /** run(), for a set-up that failed: its own error is the one to report. */
  runQuietly(): void {
    try {
      this.run();
    } catch {
      // The set-up's error is reported instead.
    }
  }
}
