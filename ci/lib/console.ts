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
