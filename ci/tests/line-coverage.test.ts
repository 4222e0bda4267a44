import { describe, expect, test } from 'vitest';
import { judgeCoverage } from '../lib/coverage-gate.js';
import { formatCoverage, lineRanges, type PartCoverage } from '../lib/line-coverage.js';

describe('line coverage report', () => {
  test('missed lines read as ranges', () => {
    expect(lineRanges([1, 2, 3, 5, 7, 8])).toBe('1-3, 5, 7-8');
    expect(lineRanges([])).toBe('');
  });

  test('the table has a line per file, a total per part, and the lines never run', () => {
    const text = formatCoverage([
      { part: 'driver', tracefile: 'x', files: [{ file: 'kernel-driver/ossa_job.c', lines: 10, hit: 7, missed: [4, 5, 9], functions: {} }] },
      { part: 'device', tracefile: 'y', files: [{ file: 'qemu-device/ossa.c', lines: 4, hit: 4, missed: [], functions: {} }] },
    ]);
    expect(text).toMatch(/kernel-driver\/ossa_job\.c\s+10\s+7\s+70\.0 %/);
    expect(text).toMatch(/driver total\s+10\s+7\s+70\.0 %/);
    expect(text).toMatch(/device total\s+4\s+4\s+100\.0 %/);
    expect(text).toContain('kernel-driver/ossa_job.c: 4-5, 9');
    expect(text).not.toContain('qemu-device/ossa.c:');
  });

  describe('goals and exceptions', () => {
    const source = ['int f(void)', '{', '\tif (bad)', '\t\treturn -ENODEV;', '\treturn 0;', '}', 'void g(void)', '{', '\tx();', '}'];
    const functions: Record<string, [number, number]> = { f: [1, 6], g: [7, 10] };
    const parts = (missed: number[], lines = 10): PartCoverage[] => [
      { part: 'driver', tracefile: 'x', files: [{ file: 'k/a.c', lines, hit: lines - missed.length, missed, functions }] },
      { part: 'device', tracefile: 'y', files: [] },
    ];
    const judge = (p: PartCoverage[], exceptions: Parameters<typeof judgeCoverage>[2], goal = 50) =>
      judgeCoverage(p, () => source, exceptions, { driver: goal, device: 95 });

    test('a line never run that an entry explains passes, and is listed with the reason', () => {
      const v = judge(parts([4]), [{ file: 'k/a.c', function: 'f', lines: ['return -ENODEV'], reason: 'the device says who it is' }]);
      expect(v.problems).toEqual([]);
      expect(v.explained).toEqual(['  k/a.c:4 f(): the device says who it is']);
    });

    test('an unexplained line, a stale entry and a part below its goal each fail', () => {
      const v = judge(
        parts([4, 9], 4),
        [
          { file: 'k/a.c', function: 'f', lines: ['return 0'], reason: 'stale' },
          { file: 'k/a.c', function: 'g', reason: 'g is never called' },
        ],
        60,
      );
      expect(v.problems).toEqual([
        'driver: 50.0 % of its lines run, below the goal of 60 %',
        'k/a.c:4 (f) `return -ENODEV;`: never run, and ci/coverage-exceptions.ts does not say why',
        'ci/coverage-exceptions.ts: the entry for k/a.c f() explains no line never run: a test reaches it now, or the code moved',
      ]);
      expect(v.explained).toEqual(['  k/a.c:9 g(): g is never called']);
    });

    test('a text on more than one line of its function, a text run now, and a part without data each fail', () => {
      const v = judge(parts([4]), [
        { file: 'k/a.c', function: 'f', lines: ['return'], reason: 'two returns' },
        { file: 'k/a.c', function: 'g', lines: ['x();'], reason: 'g is run now' },
      ]);
      expect(v.problems).toEqual([
        'ci/coverage-exceptions.ts: "return" is on 2 lines of k/a.c f(), not one',
        'k/a.c:4 (f) `return -ENODEV;`: never run, and ci/coverage-exceptions.ts does not say why',
        'ci/coverage-exceptions.ts: the entry for k/a.c f() explains no line never run: a test reaches it now, or the code moved',
        'ci/coverage-exceptions.ts: the entry for k/a.c g() explains no line never run: a test reaches it now, or the code moved',
      ]);
      // With the line before it, the text names one line.
      expect(judge(parts([4]), [{ file: 'k/a.c', function: 'f', lines: ['if (bad)\nreturn'], reason: 'two lines' }]).problems).toEqual([]);
      const partial = judge(parts([4, 5]), [{ file: 'k/a.c', function: 'f', lines: ['return -ENODEV', 'if (bad)'], reason: 'half stale' }]);
      expect(partial.problems).toEqual([
        'k/a.c:5 (f) `return 0;`: never run, and ci/coverage-exceptions.ts does not say why',
        'ci/coverage-exceptions.ts: "if (bad)" in k/a.c f() is run now: take it out of the entry',
      ]);
      expect(judgeCoverage(parts([]).slice(0, 1), () => source, [], { driver: 50, device: 95 }).problems).toEqual(['device: no coverage data from this run']);
    });

    test("a race's entry explains its line when it is not run, and is not stale when it is", () => {
      const race = { file: 'k/a.c', function: 'f', lines: ['return -ENODEV'], reason: 'a close in another thread', race: true } as const;
      const missed = judge(parts([4]), [race]);
      expect(missed.problems).toEqual([]);
      expect(missed.explained).toEqual(['  k/a.c:4 f(): a close in another thread']);
      expect(judge(parts([]), [race])).toEqual({ problems: [], explained: [] });
      expect(judge(parts([]), [{ ...race, race: undefined }]).problems).toEqual([
        'ci/coverage-exceptions.ts: the entry for k/a.c f() explains no line never run: a test reaches it now, or the code moved',
      ]);
    });

    test('entries of a file not measured are not judged', () => {
      expect(judge(parts([]), [{ file: 'q/b.c', function: 'h', reason: 'not in this run' }]).problems).toEqual([]);
    });
  });
});
