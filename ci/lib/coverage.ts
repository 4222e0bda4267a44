/**
 * The conformance suite's coverage matrix: rows are ioctls and device
 * commands, columns are categories of test, cells count tests. A guest
 * test declares what it covers in its name, through covers(), and the
 * guest records the ioctls each test really issued (support/ioctl-trace):
 * a claimed ioctl counts only when the test issued it, and for bad input
 * only when the ioctl refused at least one of those calls (bad input that
 * the ioctl accepts, such as a malformed command inside a SUBMIT, is
 * claimed by the command's row).
 *
 *
 *   test(covers(['SUBMIT', 'COPY'], 'bad-input', 'overlapping ranges'), ...)
 *
 * names it "[SUBMIT,COPY/bad-input] overlapping ranges"; the host parses
 * the tags back from the results. Shared by the guest suite and the host.
 */

export const CATEGORIES = ['good', 'bad-input', 'lifetime', 'concurrency', 'fault', 'leak'] as const;
export type Category = (typeof CATEGORIES)[number];

export const IOCTLS = [
  'VERSION',
  'GEM_CLOSE',
  'PRIME_HANDLE_TO_FD',
  'PRIME_FD_TO_HANDLE',
  'SYNCOBJ_CREATE',
  'SYNCOBJ_DESTROY',
  'SYNCOBJ_HANDLE_TO_FD',
  'SYNCOBJ_FD_TO_HANDLE',
  'SYNCOBJ_WAIT',
  'SYNCOBJ_RESET',
  'SYNCOBJ_SIGNAL',
  'SYNCOBJ_TIMELINE_WAIT',
  'SYNCOBJ_QUERY',
  'SYNCOBJ_TRANSFER',
  'SYNCOBJ_TIMELINE_SIGNAL',
  'SYNCOBJ_EVENTFD',
  'GET_PARAM',
  'BO_CREATE',
  'BO_MMAP_OFFSET',
  'BO_INFO',
  'SUBMIT',
  'BO_WAIT',
] as const;

export const COMMANDS = ['NOP', 'COPY', 'FILL', 'CRC32C', 'FMA_F32', 'FENCE', 'TIMESTAMP'] as const;

export type Row = (typeof IOCTLS)[number] | (typeof COMMANDS)[number];
export const ROWS: readonly Row[] = [...IOCTLS, ...COMMANDS];

/**
 * Cells that do not apply: an ioctl that only reads a constant has no
 * fault or concurrency behaviour of its own, and so on. Every other cell
 * must have at least one test.
 */
const NOT_APPLICABLE: Partial<Record<Row, readonly Category[]>> = {
  VERSION: ['lifetime', 'fault', 'leak'],
  GET_PARAM: ['lifetime', 'fault', 'leak'],
  BO_INFO: ['fault', 'concurrency'],
  BO_MMAP_OFFSET: ['fault', 'concurrency'],
  GEM_CLOSE: ['fault', 'concurrency'],
  PRIME_HANDLE_TO_FD: ['fault', 'concurrency'],
  PRIME_FD_TO_HANDLE: ['fault'],
  SYNCOBJ_CREATE: ['fault', 'concurrency'],
  SYNCOBJ_DESTROY: ['fault', 'concurrency'],
  SYNCOBJ_HANDLE_TO_FD: ['fault', 'concurrency'],
  SYNCOBJ_FD_TO_HANDLE: ['fault'],
  SYNCOBJ_RESET: ['fault', 'concurrency', 'leak'],
  SYNCOBJ_SIGNAL: ['fault', 'leak'],
  SYNCOBJ_WAIT: ['leak'],
  SYNCOBJ_TIMELINE_WAIT: ['leak'],
  SYNCOBJ_QUERY: ['lifetime', 'concurrency', 'leak'],
  SYNCOBJ_TRANSFER: ['concurrency', 'leak'],
  SYNCOBJ_TIMELINE_SIGNAL: ['fault', 'leak'],
  NOP: ['lifetime', 'leak'],
  TIMESTAMP: ['lifetime', 'leak', 'concurrency'],
  FENCE: ['lifetime', 'leak'],
  FILL: ['lifetime', 'leak'],
  CRC32C: ['lifetime', 'leak'],
  FMA_F32: ['lifetime', 'leak'],
  COPY: ['leak'],
};

export function applies(row: Row, category: Category): boolean {
  return !(NOT_APPLICABLE[row] ?? []).includes(category);
}

/** A test name carrying its coverage tags. */
export function covers(rows: Row | readonly Row[], category: Category, name: string): string {
  const list = typeof rows === 'string' ? [rows] : rows;
  return `[${list.join(',')}/${category}] ${name}`;
}

const TAG = /\[([A-Z0-9_,]+)\/([a-z-]+)\]/;

/** The rows and category a test name declares, if any. */
export function parseCoverage(name: string): { rows: Row[]; category: Category } | undefined {
  const m = TAG.exec(name);
  if (!m) return undefined;
  const category = m[2] as Category;
  if (!CATEGORIES.includes(category)) return undefined;
  const rows = (m[1] as string).split(',').filter((r): r is Row => (ROWS as readonly string[]).includes(r));
  return rows.length ? { rows, category } : undefined;
}

/**
 * The DRM ioctls one test issued (any process, from the kernel's syscall
 * trace), by row name ("SUBMIT") or "0xNN" for ioctls outside the matrix:
 * calls, calls that returned >= 0, and failures by errno code. The key
 * TRACE_OVERFLOW marks a record that lost calls to a full trace buffer.
 */
export type IoctlRecord = Record<string, { calls: number; ok: number; errors: Record<string, number> }>;
export const TRACE_OVERFLOW = '(trace overflowed)';

export interface CoverageMatrix {
  rows: readonly Row[];
  categories: readonly Category[];
  /**
   * cells[row][category]: tests that passed / that ran. An ioctl row counts
   * a test only when the test both claims the ioctl and issued it (for
   * bad-input: and the ioctl refused a call); a command row (the commands
   * are inside SUBMIT's stream) counts claims.
   */
  cells: Record<string, Record<string, { passed: number; total: number; applies: boolean }>>;
  /** Applicable cells with no test. */
  empty: Array<{ row: Row; category: Category }>;
  /** Tests that claim an ioctl they never issued, or bad input it never refused (or have no record of their calls). */
  unobserved: Array<{ test: string; row: Row; why: string }>;
}

const IOCTL_ROWS: ReadonlySet<string> = new Set(IOCTLS);

export function coverageMatrix(
  tests: ReadonlyArray<{ name: string; state: 'pass' | 'fail' | 'skip'; ioctls?: IoctlRecord }>,
): CoverageMatrix {
  const cells: CoverageMatrix['cells'] = {};
  for (const row of ROWS) {
    cells[row] = {};
    for (const c of CATEGORIES) (cells[row] as Record<string, unknown>)[c] = { passed: 0, total: 0, applies: applies(row, c) };
  }
  const unobserved: CoverageMatrix['unobserved'] = [];
  for (const t of tests) {
    const cov = parseCoverage(t.name);
    if (!cov || t.state === 'skip') continue;
    for (const row of cov.rows) {
      if (IOCTL_ROWS.has(row)) {
        const calls = t.ioctls?.[row];
        const overflow = t.ioctls?.[TRACE_OVERFLOW] ? ' (the trace overflowed)' : '';
        const why = !t.ioctls
          ? 'no record of its ioctls'
          : !calls?.calls
            ? `never issued it${overflow}`
            : cov.category === 'bad-input' && calls.ok === calls.calls
              ? `claims bad input, but every call of it succeeded${overflow}`
              : undefined;
        if (why) {
          unobserved.push({ test: t.name, row, why });
          continue;
        }
      }
      const cell = cells[row]?.[cov.category];
      if (!cell) continue;
      cell.total++;
      if (t.state === 'pass') cell.passed++;
    }
  }
  const empty: CoverageMatrix['empty'] = [];
  for (const row of ROWS) {
    for (const c of CATEGORIES) {
      const cell = cells[row]?.[c];
      if (cell?.applies && cell.total === 0) empty.push({ row, category: c });
    }
  }
  return { rows: ROWS, categories: CATEGORIES, cells, empty, unobserved };
}

/** The matrix as text: "n" per cell, "-" where it does not apply, "." when empty. */
export function formatMatrix(m: CoverageMatrix): string {
  const w = Math.max(...m.rows.map((r) => r.length));
  const cw = Math.max(...m.categories.map((c) => c.length));
  const line = (head: string, cols: string[]): string => `${head.padEnd(w)}  ${cols.map((c) => c.padStart(cw)).join(' ')}`;
  const out = [line('', [...m.categories])];
  for (const row of m.rows) {
    out.push(
      line(
        row,
        m.categories.map((c) => {
          const cell = m.cells[row]?.[c];
          if (!cell?.applies) return '-';
          if (cell.total === 0) return '.';
          return cell.passed === cell.total ? String(cell.total) : `${cell.passed}/${cell.total}`;
        }),
      ),
    );
  }
  out.push('', m.empty.length ? `${m.empty.length} applicable cell(s) without a test` : 'every applicable cell has a test');
  return out.join('\n');
}
