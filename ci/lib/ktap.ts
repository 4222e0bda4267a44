/**
 * Test results as KTAP version 1 (the kernel's Documentation/dev-tools/
 * ktap.rst, as kunit.py parses it): a plan, one result line per test,
 * subtests indented by four spaces under their own header, diagnostic
 * lines ("# ...") before the result they explain, SKIP as a directive.
 */
import type { CaseState } from './junit.js';

export interface KtapTest {
  name: string;
  /** Leave out for a test with subtests: it fails if one fails, is skipped if all are. */
  state?: CaseState;
  /** Why it failed or was skipped. */
  message?: string;
  subtests?: KtapTest[];
}

/** A test's name on a result line, where '#' starts a directive and a line ends the result. */
export function ktapName(name: string): string {
  return name.replace(/#/g, '%23').replace(/\s+/g, ' ').trim() || '(unnamed)';
}

/** The state of a test: its own, or its subtests'. */
export function ktapState(t: KtapTest): CaseState {
  if (t.state) return t.state;
  const states = (t.subtests ?? []).map(ktapState);
  if (states.includes('fail')) return 'fail';
  return states.length && states.every((s) => s === 'skip') ? 'skip' : 'pass';
}

function lines(tests: readonly KtapTest[], indent: string, header?: string): string[] {
  const out = [`${indent}KTAP version 1`];
  if (header !== undefined) out.push(`${indent}# Subtest: ${ktapName(header)}`);
  out.push(`${indent}1..${tests.length}`);
  for (const [i, t] of tests.entries()) {
    if (t.subtests) out.push(...lines(t.subtests, `${indent}    `, t.name));
    const state = ktapState(t);
    const message = (t.message ?? '').replace(/\x1b\[[0-9;]*m/g, '');
    if (state === 'fail' && message) for (const l of message.split('\n')) out.push(`${indent}# ${l}`.trimEnd());
    const directive = state === 'skip' ? ` # SKIP${message ? ` ${ktapName(message.split('\n')[0] ?? '')}` : ''}` : '';
    out.push(`${indent}${state === 'fail' ? 'not ok' : 'ok'} ${i + 1} ${ktapName(t.name)}${directive}`);
  }
  return out;
}

/** The whole document: these tests at the top level. */
export function ktap(tests: readonly KtapTest[]): string {
  return `${lines(tests, '').join('\n')}\n`;
}
