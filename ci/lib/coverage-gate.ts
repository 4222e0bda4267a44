/**
 * The line-coverage goals of driver and device, and the check that every
 * line no test runs is explained (ci/coverage-exceptions.ts). What is
 * wrong: a part below its goal; a line never run that no entry explains;
 * an entry that explains no line never run (a test reaches it now, so the
 * entry goes; or the code moved, so the entry is fixed).
 */
import { lineRanges, type PartCoverage } from './line-coverage.js';

export interface CoverageException {
  /** Repository path of the source file. */
  file: string;
  /** The function the lines are in, as gcov names it. */
  function: string;
  /**
   * Text the lines contain: each line never run of the function that
   * contains one of these (trimmed) is explained. Omitted: all of them.
   */
  lines?: readonly string[];
  /** Why no test runs them: cannot be reached, or need not be. */
  reason: string;
}

export type CoverageGoals = Readonly<Record<PartCoverage['part'], number>>;

export interface CoverageVerdict {
  /** What fails the run, one line each. */
  problems: string[];
  /** The lines never run, grouped by the entry that explains them. */
  explained: string[];
}

const percent = (hit: number, lines: number): number => (lines ? (100 * hit) / lines : 100);

/**
 * Judges the parts measured; `source(file)` gives a repository file's
 * lines. Entries of parts not measured are not judged.
 */
export function judgeCoverage(
  parts: readonly PartCoverage[],
  source: (file: string) => readonly string[],
  exceptions: readonly CoverageException[],
  goals: CoverageGoals,
): CoverageVerdict {
  const problems: string[] = [];
  const byEntry = new Map<CoverageException, number[]>();
  for (const part of parts) {
    const lines = part.files.reduce((a, f) => a + f.lines, 0);
    const hit = part.files.reduce((a, f) => a + f.hit, 0);
    const pct = percent(hit, lines);
    if (pct < goals[part.part]) problems.push(`${part.part}: ${pct.toFixed(1)} % of its lines run, below the goal of ${goals[part.part]} %`);
    for (const f of part.files) {
      const text = source(f.file);
      for (const n of f.missed) {
        const line = (text[n - 1] ?? '').trim();
        const fn = f.missedIn[n] ?? '';
        const entry = exceptions.find((e) => e.file === f.file && e.function === fn && (!e.lines || e.lines.some((t) => line.includes(t))));
        if (entry) byEntry.set(entry, [...(byEntry.get(entry) ?? []), n]);
        else problems.push(`${f.file}:${n} (${fn}) \`${line}\`: never run, and ci/coverage-exceptions.ts does not say why`);
      }
    }
  }
  const measured = new Set(parts.flatMap((p) => p.files.map((f) => f.file)));
  for (const e of exceptions) {
    if (measured.has(e.file) && !byEntry.has(e)) {
      problems.push(`ci/coverage-exceptions.ts: the entry for ${e.file} ${e.function}() explains no line never run: a test reaches it now, or the code moved`);
    }
  }
  const explained = [...byEntry.entries()].map(([e, ns]) => `  ${e.file}:${lineRanges(ns)} ${e.function}(): ${e.reason}`);
  return { problems, explained };
}
