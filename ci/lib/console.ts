/**
 * Reading the guest's serial console: which kernel lines mean the guest is
 * broken. Only kernel lines count (they start with the printk timestamp),
 * so a test that prints "BUG:" cannot trip it.
 *
 * A 'finding' is a debug checker's report (KASAN, UBSAN, DEBUG_OBJECTS,
 * DMA-API debugging, sleeping in atomic context): the kernel goes on, so
 * the run goes on too and every later test still reports; the finding
 * fails the run all the same. An 'oops' stops the run.
 */

export type KernelTrouble = 'panic' | 'oops' | 'finding' | 'warning' | 'hung-task';

const KERNEL_LINE = /^\[\s*\d+\.\d+\]\s(.*)$/;

const PATTERNS: ReadonlyArray<[KernelTrouble, RegExp]> = [
  ['panic', /Kernel panic - not syncing/],
  [
    'finding',
    /^BUG: (KASAN|KFENCE|sleeping function called|Invalid wait context|scheduling while atomic|workqueue leaked)|^ODEBUG: |^DMA-API: \S+ \S+: |UBSAN: /,
  ],
  ['oops', /\bOops\b|^BUG: |kernel BUG at|general protection fault|Unable to handle kernel/],
  ['warning', /^WARNING: |------------\[ cut here \]------------/],
  ['hung-task', /INFO: task .* blocked for more than/],
];

/** Classifies one console line; undefined for ordinary lines. */
export function classifyConsoleLine(line: string): KernelTrouble | undefined {
  const m = KERNEL_LINE.exec(line.replace(/\r$/, ''));
  if (!m) return undefined;
  const text = m[1] as string;
  for (const [kind, re] of PATTERNS) if (re.test(text)) return kind;
  return undefined;
}

/** Lines at most in a test's console excerpt: the last of them are kept. */
const EXCERPT_LINES = 80;

/**
 * What the console said while one guest test ran: the lines after the
 * previous test's result line (the runner prints "ossa-test: STATE file >
 * name" for each test) up to and including this test's own, at most the
 * last EXCERPT_LINES; undefined if the test's result line is not there.
 */
export function consoleExcerpt(consoleLines: readonly string[], file: string, name: string): string | undefined {
  const own = consoleLines.findIndex((l) => l.replace(/\r$/, '').endsWith(` ${file} > ${name}`) && l.includes('ossa-test: '));
  if (own < 0) return undefined;
  let start = own;
  while (start > 0 && !/ossa-test: (PASS|FAIL|SKIP) /.test(consoleLines[start - 1] ?? '')) start--;
  return consoleLines
    .slice(Math.max(start, own + 1 - EXCERPT_LINES), own + 1)
    .map((l) => l.replace(/\r$/, ''))
    .join('\n');
}
