/**
 * The line-coverage goals of driver and device, and the check that every
 * line no test runs is explained (ci/coverage-exceptions.ts). What is
 * wrong: a part without data or below its goal; a line never run that no
 * entry explains; an entry's text that is not on exactly one line of its
 * function; an entry or a text of one that explains no line never run (a
 * test reaches it now, so it goes; or the code moved, so it is fixed),
 * unless the entry is a race's.
 */
import { type FileCoverage, lineRanges, type PartCoverage, partTotals } from './line-coverage.js';

export interface CoverageException {
  /** Repository path of the source file. */
  file: string;
  /** The function the lines are in, as gcov names it. */
  function: string;
  /**
   * Text of the lines, each found on exactly one line of the function:
   * that line, never run, is explained. A text with newlines matches
   * consecutive lines, part by part, and names the last (for a line whose
   * own text is not unique). Omitted: every line of the function.
   */
  lines?: readonly string[];
  /** Why no test runs them: cannot be reached, or need not be. */
  reason: string;
  /**
   * The lines are on one side of a race the tests cannot steer: a run may
   * reach them or not, so a run that reaches them does not make the entry
   * stale. Only for races; a line a test can reach gets that test.
   */
  race?: true;
}

export type CoverageGoals = Readonly<Record<PartCoverage['part'], number>>;

export interface CoverageVerdict {
  /** What fails the run, one line each. */
  problems: string[];
  /** The lines never run, grouped by the entry that explains them. */
  explained: string[];
}

/** The 1-based lines of `text` in [first, last] where the parts of `t` (split at newlines) begin, each on its own line. */
function matchesOf(text: readonly string[], first: number, last: number, t: string): number[] {
  const parts = t.split('\n');
  const out: number[] = [];
  for (let n = first; n + parts.length - 1 <= last; n++) {
    if (parts.every((p, j) => (text[n - 1 + j] ?? '').includes(p))) out.push(n + parts.length - 1);
  }
  return out;
}

/** The function whose lines span line `n` of a file. */
function functionAt(f: FileCoverage, n: number): string {
  return Object.entries(f.functions).find(([, [first, last]]) => first <= n && n <= last)?.[0] ?? '';
}

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
  const files = new Map(parts.flatMap((p) => p.files.map((f) => [f.file, f] as const)));
  for (const part of Object.keys(goals) as Array<PartCoverage['part']>) {
    if (!parts.some((p) => p.part === part)) problems.push(`${part}: no coverage data from this run`);
  }

  // Which line each text names: exactly one line of its function, so
  // that it cannot explain a line it was not written for.
  const named = new Map<CoverageException, Map<string, number>>();
  for (const e of exceptions) {
    const f = files.get(e.file);
    if (!f) continue;
    const range = f.functions[e.function];
    if (!range) {
      problems.push(`ci/coverage-exceptions.ts: ${e.file} has no function ${e.function}()`);
      continue;
    }
    const lines = new Map<string, number>();
    for (const t of e.lines ?? []) {
      const at = matchesOf(source(e.file), range[0], range[1], t);
      if (at.length === 1 && at[0] !== undefined) lines.set(t, at[0]);
      else problems.push(`ci/coverage-exceptions.ts: ${JSON.stringify(t)} is on ${at.length} lines of ${e.file} ${e.function}(), not one`);
    }
    named.set(e, lines);
  }

  const byEntry = new Map<CoverageException, number[]>();
  for (const part of parts) {
    const { lines, hit } = partTotals(part);
    const pct = lines ? (100 * hit) / lines : 100;
    if (pct < goals[part.part]) problems.push(`${part.part}: ${pct.toFixed(1)} % of its lines run, below the goal of ${goals[part.part]} %`);
    for (const f of part.files) {
      const text = source(f.file);
      for (const n of f.missed) {
        const fn = functionAt(f, n);
        const entry = exceptions.find(
          (e) => e.file === f.file && e.function === fn && (!e.lines || [...(named.get(e)?.values() ?? [])].includes(n)),
        );
        if (entry) byEntry.set(entry, [...(byEntry.get(entry) ?? []), n]);
        else problems.push(`${f.file}:${n} (${fn}) \`${(text[n - 1] ?? '').trim()}\`: never run, and ci/coverage-exceptions.ts does not say why`);
      }
    }
  }

  for (const [e, lines] of named) {
    if (e.race) continue;
    const explained = byEntry.get(e) ?? [];
    if (!explained.length) {
      problems.push(`ci/coverage-exceptions.ts: the entry for ${e.file} ${e.function}() explains no line never run: a test reaches it now, or the code moved`);
      continue;
    }
    for (const [t, n] of lines) {
      if (!explained.includes(n)) problems.push(`ci/coverage-exceptions.ts: ${JSON.stringify(t)} in ${e.file} ${e.function}() is run now: take it out of the entry`);
    }
  }
  const explained = [...byEntry.entries()].map(([e, ns]) => `  ${e.file}:${lineRanges(ns)} ${e.function}(): ${e.reason}`);
  return { problems, explained };
}
