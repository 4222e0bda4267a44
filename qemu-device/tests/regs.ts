/**
 * The ossa hardware constants, taken from qemu-device/ossa_regs.h rather
 * than retyped: every `#define OSSA_*` is found by a regular expression, a
 * tiny C program including the header prints each value as JSON (function-
 * like macros evaluated for q = 0 and 1), and the result is cached in the OS
 * temporary directory under the hash of the header.
 *
 * Names are exposed without their `OSSA_` prefix: `R.REG_ID`,
 * `R.REG_QUEUE(1)`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../../ci/lib/paths.js';

export const HEADER = join(repoRoot, 'qemu-device', 'ossa_regs.h');

/** Bump when the generator changes, to invalidate caches. */
const GENERATOR_VERSION = '1';

/** Object-like macros this suite uses (the header may hold more: see `R_ALL`). */
const SCALARS = [
  'PCI_VENDOR_ID', 'PCI_DEVICE_ID', 'PCI_REVISION', 'PCI_CLASS_ACCELERATOR',
  'BAR_REGS', 'BAR_MSIX', 'REGS_SIZE',
  'REG_ID', 'REG_VERSION', 'REG_CAPS', 'REG_RESET', 'REG_SCRATCH', 'REG_TIME_LO', 'REG_TIME_HI',
  'REG_IRQ_STATUS', 'REG_IRQ_MASK', 'REG_CTX_TABLE_LO', 'REG_CTX_TABLE_HI',
  'REG_CTX_STOPPED_LO', 'REG_CTX_STOPPED_HI', 'REG_FAULT_ADDR_LO', 'REG_FAULT_ADDR_HI',
  'REG_FAULT_INFO', 'REG_FAULT_COUNT',
  'REG_INJECT_HANG', 'REG_INJECT_FAIL', 'REG_INJECT_DELAY_US', 'REG_INJECT_FAULT_LO', 'REG_INJECT_FAULT_HI',
  'INJECT_FAIL_NEXT', 'INJECT_FAULT_ENABLE', 'INJECT_DELAY_MAX_US',
  'REG_Q_BASE_LO', 'REG_Q_BASE_HI', 'REG_Q_SIZE', 'REG_Q_CONTROL', 'REG_Q_TAIL', 'REG_Q_HEAD', 'REG_Q_STATUS',
  'QUEUE_REGS_SIZE',
  'VERSION_MAJOR_SHIFT', 'VERSION_MINOR_MASK', 'VERSION_MAJOR', 'VERSION_MINOR', 'VERSION_VALUE',
  'ID_MAGIC',
  'CAPS_NUM_QUEUES_MASK', 'CAPS_CONTEXTS_LOG2_SHIFT', 'CAPS_CONTEXTS_LOG2_MASK', 'CAPS_VA_BITS_SHIFT',
  'CAPS_VA_BITS_MASK', 'CAPS_FAULT_INJECTION', 'CAPS_DMA_BITS_SHIFT', 'CAPS_DMA_BITS_MASK', 'DMA_BITS_MIN', 'DMA_BITS_MAX',
  'RESET_MAGIC',
  'IRQ_MMU_FAULT', 'IRQ_ALL', 'MSIX_VECTOR_MISC', 'MSIX_VECTORS',
  'Q_CONTROL_ENABLE', 'Q_STATUS_ENABLED', 'Q_STATUS_BUSY', 'Q_STATUS_ERROR', 'Q_STATUS_CODE_SHIFT',
  'Q_STATUS_CODE_MASK', 'Q_ERR_BAD_RING', 'Q_ERR_TAIL_OVERRUN', 'Q_ERR_RING_DMA', 'Q_BASE_ALIGN',
  'Q_SIZE_MIN', 'Q_SIZE_MAX',
  'NUM_QUEUES', 'CONTEXTS_LOG2', 'NUM_CONTEXTS', 'VA_BITS', 'CMD_SIZE_MAX', 'DATA_SIZE_MAX', 'FMA_COUNT_MAX',
  'DESC_SIZE', 'DESC_FLAGS', 'DESC_CONTEXT', 'DESC_CMD_ADDR', 'DESC_CMD_SIZE', 'DESC_RESERVED',
  'DESC_USER_DATA', 'DESC_STATUS', 'DESC_ERROR_OFFSET', 'DESC_START_NS', 'DESC_END_NS', 'DESC_RESULT',
  'DESC_RESULT_SIZE', 'DESC_FLAG_IRQ',
  'JOB_OK', 'JOB_INVALID_DESCRIPTOR', 'JOB_INVALID_CONTEXT', 'JOB_CONTEXT_STOPPED', 'JOB_INVALID_COMMAND',
  'JOB_MMU_FAULT', 'JOB_INJECTED_ERROR',
  'CMD_NOP', 'CMD_COPY', 'CMD_FILL', 'CMD_CRC32C', 'CMD_FMA_F32', 'CMD_FENCE', 'CMD_TIMESTAMP',
  'CMD_NOP_SIZE', 'CMD_COPY_SIZE', 'CMD_FILL_SIZE', 'CMD_CRC32C_SIZE', 'CMD_FMA_F32_SIZE', 'CMD_FENCE_SIZE',
  'CMD_TIMESTAMP_SIZE', 'CMD_FENCE_FLAG_IRQ', 'FMA_NAN',
  'CTX_ENTRY_SIZE', 'CTX_TABLE_ALIGN', 'CTX_ROOT_VALID',
  'PAGE_SHIFT', 'PAGE_SIZE', 'PT_LEVELS', 'PT_ENTRIES', 'PT_INDEX_BITS', 'PTE_VALID', 'PTE_READ', 'PTE_WRITE',
  'PTE_ADDR_MASK', 'PTE_ADDR_BITS',
  'FAULT_NOT_PRESENT', 'FAULT_PERMISSION', 'FAULT_RESERVED', 'FAULT_RANGE', 'FAULT_WALK_ERROR',
  'FAULT_BUS_ERROR', 'FAULT_INJECTED',
  'FAULT_INFO_CONTEXT_MASK', 'FAULT_INFO_QUEUE_SHIFT', 'FAULT_INFO_WRITE', 'FAULT_INFO_CAUSE_SHIFT',
  'FAULT_INFO_CAUSE_MASK', 'FAULT_INFO_VALID',
] as const;

/** Function-like macros of one argument (a queue number). */
const FUNCTIONS = ['REG_QUEUE', 'IRQ_QUEUE_JOB', 'IRQ_QUEUE_ERROR', 'MSIX_VECTOR_QUEUE'] as const;

/** The arguments function-like macros are evaluated for. */
const FN_ARGS = [0, 1] as const;

export type ScalarName = (typeof SCALARS)[number];
export type FunctionName = (typeof FUNCTIONS)[number];

export type OssaConstants = { readonly [K in ScalarName]: number } & {
  readonly [K in FunctionName]: (q: number) => number;
};

interface Macro {
  name: string;
  /** The parameter of a function-like macro. */
  param?: string;
}

interface Extracted {
  scalars: Record<string, number>;
  functions: Record<string, number[]>;
}

/** Finds the `#define OSSA_*` macros of the header (continuation lines joined). */
export function findMacros(header: string): Macro[] {
  const text = header.replace(/\\\r?\n/g, ' ');
  const macros: Macro[] = [];
  const re = /^[ \t]*#[ \t]*define[ \t]+(OSSA_\w+)(\((\w+)\))?[ \t]*(.*)$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const name = m[1] ?? '';
    const body = (m[4] ?? '').replace(/\/\*.*?\*\//g, '').trim();
    if (body === '') continue; // the include guard
    macros.push(m[3] ? { name, param: m[3] } : { name });
  }
  return macros;
}

function cProgram(macros: Macro[]): string {
  const lines = [
    '#include <stdio.h>',
    '#include "ossa_regs.h"',
    'int main(void) {',
    '  printf("{\\"scalars\\": {");',
  ];
  const scalars = macros.filter((m) => !m.param);
  const fns = macros.filter((m) => m.param);
  scalars.forEach((m, i) => {
    lines.push(`  printf("%s\\"${m.name}\\": %llu", ${i ? '","' : '""'}, (unsigned long long)(${m.name}));`);
  });
  lines.push('  printf("}, \\"functions\\": {");');
  fns.forEach((m, i) => {
    const values = FN_ARGS.map((q) => `(unsigned long long)(${m.name}(${q}))`);
    const fmt = FN_ARGS.map(() => '%llu').join(', ');
    lines.push(`  printf("%s\\"${m.name}\\": [${fmt}]", ${i ? '","' : '""'}, ${values.join(', ')});`);
  });
  lines.push('  printf("}}\\n");', '  return 0;', '}');
  return `${lines.join('\n')}\n`;
}

async function extract(headerPath: string): Promise<Extracted> {
  const header = await readFile(headerPath, 'utf8');
  const key = createHash('sha256').update(GENERATOR_VERSION).update(header).digest('hex').slice(0, 24);
  const cache = join(tmpdir(), `ossa-regs-${key}.json`);
  if (existsSync(cache)) {
    try {
      return JSON.parse(await readFile(cache, 'utf8')) as Extracted;
    } catch {
      // a broken cache file: regenerate
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'ossa-regs-'));
  try {
    const src = join(dir, 'dump.c');
    const exe = join(dir, 'dump');
    await writeFile(src, cProgram(findMacros(header)));
    await execa('cc', ['-std=c11', '-Wall', '-Werror', '-I', dirname(headerPath), '-o', exe, src]);
    const { stdout } = await execa(exe);
    const parsed = JSON.parse(stdout) as Extracted;
    const tmp = `${cache}.${process.pid}.tmp`;
    await writeFile(tmp, stdout);
    await rename(tmp, cache);
    return parsed;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function strip(name: string): string {
  return name.replace(/^OSSA_/, '');
}

function build(x: Extracted): { typed: OssaConstants; all: Record<string, number> } {
  const all: Record<string, number> = {};
  for (const [k, v] of Object.entries(x.scalars)) {
    if (!Number.isSafeInteger(v)) throw new Error(`${k} = ${v} is not a safe integer`);
    all[strip(k)] = v;
  }
  const typed: Record<string, number | ((q: number) => number)> = { ...all };
  for (const name of SCALARS) {
    if (!(name in all)) throw new Error(`OSSA_${name} is missing from ${HEADER}`);
  }
  for (const name of FUNCTIONS) {
    const values = x.functions[`OSSA_${name}`];
    if (!values) throw new Error(`OSSA_${name}(q) is missing from ${HEADER}`);
    typed[name] = (q: number): number => {
      const v = values[q];
      if (v === undefined) throw new RangeError(`OSSA_${name}(${q}) was evaluated for q in 0..1 only`);
      return v;
    };
  }
  return { typed: typed as unknown as OssaConstants, all };
}

const built = build(await extract(HEADER));

/** The constants of ossa_regs.h, without their `OSSA_` prefix. */
export const R: OssaConstants = built.typed;

/** Every object-like macro of the header, by name without `OSSA_`. */
export const R_ALL: Readonly<Record<string, number>> = built.all;

/** Queue register address: `R.REG_QUEUE(q) + off`. */
export function qreg(q: number, off: number): number {
  return R.REG_QUEUE(q) + off;
}
