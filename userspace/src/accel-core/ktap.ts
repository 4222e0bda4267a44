/**
 * Test results as KTAP version 1 (the kernel's Documentation/dev-tools/
 * ktap.rst, as kunit.py parses it): a plan, one result line per test,
 * subtests indented by four spaces under their own header, diagnostic
 * lines ("# ...") before the result they explain, SKIP as a directive.
 */
import { stripVTControlCharacters } from 'node:util';

/** How a test ended. */
export type KtapState = 'pass' | 'fail' | 'skip';

export interface KtapTest {
  name: string;
  /** Leave out for a test with subtests: it fails if one fails, is skipped if all are. */
  state?: KtapState;
  /** Why it failed or was skipped. */
  message?: string;
  subtests?: KtapTest[];
}

/** Every character Python's str.splitlines() breaks a line at (kunit.py reads the file with it). */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

/**
 * Text as kunit.py can read it on one line: terminal escape sequences
 * (colour codes) and other control characters dropped, and the console lines at which kunit.py
 * stops reading (KTAP_END in kunit_parser.py) changed so that they no
 * longer match.
 */
function ktapText(s: string): string {
  return stripVTControlCharacters(s)
    .replace(/[\x00-\x08\x0e-\x1f\x7f-\x9f]/g, '')
    .replace(/List of all partitions:/g, 'List of all partitions -')
    .replace(/Kernel panic - not syncing: VFS:/g, 'Kernel panic - not syncing (VFS)')
    .replace(/reboot: System halted/g, 'reboot - System halted');
}

/** A test's name on a result line, where '#' starts a directive and a line ends the result. */
export function ktapName(name: string): string {
  return ktapText(name.replace(/#/g, '%23').replace(/\s+/g, ' ')).trim() || '(unnamed)';
}

/** The state of a test: its own, or its subtests'. */
export function ktapState(t: KtapTest): KtapState {
  if (t.state) return t.state;
  const states = (t.subtests ?? []).map(ktapState);
  if (states.includes('fail')) return 'fail';
  return states.length && states.every((s) => s === 'skip') ? 'skip' : 'pass';
}

/** A (sub)test list's header: version, the subtest's name when nested, the plan. */
export function ktapHeader(count: number, indent = '', name?: string): string[] {
  const out = [`${indent}KTAP version 1`];
  if (name !== undefined) out.push(`${indent}# Subtest: ${ktapName(name)}`);
  out.push(`${indent}1..${count}`);
  return out;
}

/**
 * A test's result line, after the lines of a failure's message (each a
 * diagnostic line; one that would read as a subtest header is changed).
 */
export function ktapResult(t: KtapTest, number: number, indent = ''): string[] {
  const out: string[] = [];
  const state = ktapState(t);
  const message = t.message ?? '';
  if (state === 'fail' && message) {
    for (const l of message.split(LINE_BREAK)) out.push(`${indent}# ${ktapText(l).replace(/^(\s*)Subtest:/, '$1Subtest -')}`.trimEnd());
  }
  const directive = state === 'skip' ? ` # SKIP${message ? ` ${ktapName(message.split(LINE_BREAK)[0] ?? '')}` : ''}` : '';
  out.push(`${indent}${state === 'fail' ? 'not ok' : 'ok'} ${number} ${ktapName(t.name)}${directive}`);
  return out;
}

function lines(tests: readonly KtapTest[], indent: string, header?: string): string[] {
  const out = ktapHeader(tests.length, indent, header);
  for (const [i, t] of tests.entries()) {
    if (t.subtests) out.push(...lines(t.subtests, `${indent}    `, t.name));
    out.push(...ktapResult(t, i + 1, indent));
  }
  return out;
}

/** The whole document: these tests at the top level. */
export function ktap(tests: readonly KtapTest[]): string {
  return `${lines(tests, '').join('\n')}\n`;
}
