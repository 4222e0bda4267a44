/**
 * Test results as JUnit XML, the format CI engines read (GitLab's
 * artifacts:reports:junit, GitHub's test-report actions, Jenkins): one
 * <testsuite> per test file, one <testcase> per test with its time in
 * seconds, a <failure> with the message (and, for a guest test, the guest
 * console around it) and <skipped> with the reason.
 */
import { stripVTControlCharacters } from 'node:util';

export type CaseState = 'pass' | 'fail' | 'skip';

export interface ResultCase {
  /** Where the test sits: its file's suites, joined with ' > '. */
  classname: string;
  name: string;
  seconds: number;
  state: CaseState;
  /** Why it failed or was skipped. */
  message?: string;
  /** More on a failure: the guest console around it. */
  details?: string;
}

export interface ResultSuite {
  /** The test file. */
  name: string;
  cases: ResultCase[];
}

/**
 * Text as XML 1.0 character data: terminal escape sequences (colour codes)
 * dropped, markup escaped, and the characters XML cannot hold at all (C0
 * controls but tab and newlines, lone surrogates) dropped.
 */
export function xmlText(s: string): string {
  return stripVTControlCharacters(s)
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const seconds = (s: number): string => s.toFixed(3);

function testcase(c: ResultCase): string {
  const head = `    <testcase classname="${xmlText(c.classname)}" name="${xmlText(c.name)}" time="${seconds(c.seconds)}"`;
  if (c.state === 'pass') return `${head}/>`;
  const message = c.message ?? '';
  const firstLine = message.split('\n')[0] ?? '';
  if (c.state === 'skip') return `${head}>\n      <skipped${firstLine ? ` message="${xmlText(firstLine)}"` : ''}/>\n    </testcase>`;
  const body = [message, c.details ? `--- guest console ---\n${c.details}` : ''].filter(Boolean).join('\n\n');
  return `${head}>\n      <failure message="${xmlText(firstLine)}" type="AssertionError">${xmlText(body)}</failure>\n    </testcase>`;
}

/** The whole report; `timestamp` is when the run started (ISO 8601). */
export function junitXml(suites: readonly ResultSuite[], timestamp: string): string {
  const count = (cases: readonly ResultCase[], state: CaseState): number => cases.filter((c) => c.state === state).length;
  const total = (cases: readonly ResultCase[]): string => seconds(cases.reduce((t, c) => t + c.seconds, 0));
  const all = suites.flatMap((s) => s.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="ossa" tests="${all.length}" failures="${count(all, 'fail')}" errors="0" skipped="${count(all, 'skip')}" time="${total(all)}">`,
  ];
  for (const s of suites) {
    lines.push(
      `  <testsuite name="${xmlText(s.name)}" timestamp="${timestamp}" hostname="localhost" tests="${s.cases.length}" failures="${count(s.cases, 'fail')}" errors="0" skipped="${count(s.cases, 'skip')}" time="${total(s.cases)}">`,
    );
    for (const c of s.cases) lines.push(testcase(c));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
