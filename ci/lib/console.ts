/**
 * Reading the guest's serial console: which kernel lines mean the guest is
 * broken. Only kernel lines count (they start with the printk timestamp),
 * so a test that prints "BUG:" cannot trip it.
 */

export type KernelTrouble = 'panic' | 'oops' | 'warning' | 'hung-task';

const KERNEL_LINE = /^\[\s*\d+\.\d+\]\s(.*)$/;

const PATTERNS: ReadonlyArray<[KernelTrouble, RegExp]> = [
  ['panic', /Kernel panic - not syncing/],
  ['oops', /\bOops\b|^BUG: |kernel BUG at|general protection fault|Unable to handle kernel|KASAN: |UBSAN: /],
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
