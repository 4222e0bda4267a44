import { describe, expect, test } from 'vitest';
import { formatCoverage, lineRanges } from '../lib/line-coverage.js';

describe('line coverage report', () => {
  test('missed lines read as ranges', () => {
    expect(lineRanges([1, 2, 3, 5, 7, 8])).toBe('1-3, 5, 7-8');
    expect(lineRanges([])).toBe('');
  });

  test('the table has a line per file, a total per part, and the lines never run', () => {
    const text = formatCoverage([
      { part: 'driver', tracefile: 'x', files: [{ file: 'kernel-driver/ossa_job.c', lines: 10, hit: 7, missed: [4, 5, 9] }] },
      { part: 'device', tracefile: 'y', files: [{ file: 'qemu-device/ossa.c', lines: 4, hit: 4, missed: [] }] },
    ]);
    expect(text).toMatch(/kernel-driver\/ossa_job\.c\s+10\s+7\s+70\.0 %/);
    expect(text).toMatch(/driver total\s+10\s+7\s+70\.0 %/);
    expect(text).toMatch(/device total\s+4\s+4\s+100\.0 %/);
    expect(text).toContain('kernel-driver/ossa_job.c: 4-5, 9');
    expect(text).not.toContain('qemu-device/ossa.c:');
  });
});
