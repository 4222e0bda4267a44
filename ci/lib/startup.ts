/**
 * The boot-to-first-test breakdown: each start-up step of a guest run, when
 * it reached the host and how long it took after the step before it.
 */
export interface StartupStep {
  step: string;
  /** Seconds from QEMU's start, on the host's clock. */
  seconds: number;
}

/** One line per step, in time order: "  4.8 s  (+0.3 s)  /init". */
export function startupLines(steps: ReadonlyArray<StartupStep>): string[] {
  let before = 0;
  return [...steps]
    .sort((a, b) => a.seconds - b.seconds)
    .map((s) => {
      const line = `${s.seconds.toFixed(1).padStart(6)} s  (+${(s.seconds - before).toFixed(1)} s)  ${s.step}`;
      before = s.seconds;
      return line;
    });
}
