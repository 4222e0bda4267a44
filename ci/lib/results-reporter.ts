/**
 * A vitest reporter that writes the run's results where CI engines and
 * test labs read them: out/junit.xml, every host and guest test, and
 * out/results.ktap, the guest suite (one test per lane, one subtest per
 * guest test file, one per guest test under it). Each guest test carries
 * what the guest said of it in its meta (ci/lib/guest-suite.ts): its own
 * duration, and the console around it when it failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Reporter, SerializedError, TestCase, TestModule, TestRunEndReason } from 'vitest/node';
import { type CaseState, junitXml, type ResultCase, type ResultSuite } from './junit.js';
import { type KtapTest, ktap } from '../../userspace/src/accel-core/ktap.js';
import { outDir, repoRoot } from './paths.js';

/** What a host test that stands for a guest test knows of it. */
export interface GuestCaseMeta {
  /** The guest test file, relative to the suite's root (conformance/faults.test.js). */
  file: string;
  /** Its name in the guest (describe blocks and test). */
  name: string;
  /** Its duration in the guest. */
  ms: number;
  /** The guest console while it ran, when it failed. */
  console?: string;
  /** Why the guest skipped it. */
  skipped?: string;
}

declare module 'vitest' {
  interface TaskMeta {
    /** The guest lane (its describe block's name) a test belongs to: each of its own checks and each guest test. */
    guestLane?: string;
    guest?: GuestCaseMeta;
  }
}

export interface ResultsOptions {
  /** Where junit.xml and results.ktap go (out/). */
  dir?: string;
}

/** The prefix of a guest test's failure on the host (ci/lib/guest-suite.ts): the guest's message follows. */
export const GUEST_FAILURE = 'failed in the guest:\n';

function stateOf(t: TestCase): { state: CaseState; message?: string } {
  const r = t.result();
  if (r.state === 'failed') {
    const message = (r.errors ?? []).map((e) => [e.message, e.diff].filter(Boolean).join('\n')).join('\n\n');
    return { state: 'fail', message: (t.meta().guest ? message.replace(GUEST_FAILURE, '') : message) || 'failed' };
  }
  if (r.state === 'skipped') {
    const why = t.meta().guest?.skipped ?? r.note;
    return { state: 'skip', ...(why ? { message: why } : {}) };
  }
  if (r.state === 'pending') return { state: 'skip', message: 'not run' };
  return { state: 'pass' };
}

/** The names of the suites a test sits in, outermost first. */
function suitePath(t: TestCase): string[] {
  const names: string[] = [];
  for (let p = t.parent; p.type === 'suite'; p = p.parent) names.unshift(p.name);
  return names;
}

/** A file that failed to load (or a hook outside any test): one failing case, so that it is not lost. */
function moduleErrors(m: TestModule): string | undefined {
  const errors = m.errors();
  return errors.length ? errors.map((e) => e.stack ?? e.message).join('\n\n') : undefined;
}

export default class ResultsReporter implements Reporter {
  #start = new Date().toISOString();
  readonly #dir: string;

  constructor(options: ResultsOptions = {}) {
    this.#dir = options.dir ?? outDir;
  }

  onTestRunStart(): void {
    this.#start = new Date().toISOString();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    // What failed the run outside any test, so that the files do not read as green.
    const run: ResultCase[] = [];
    if (unhandledErrors.length) {
      const message = unhandledErrors.map((e) => e.stack ?? e.message).join('\n\n');
      run.push({ classname: '(the run)', name: 'errors outside any test', seconds: 0, state: 'fail', message });
    }
    if (reason === 'interrupted') run.push({ classname: '(the run)', name: 'the run was interrupted', seconds: 0, state: 'fail', message: 'interrupted: tests that did not run are marked skipped ("not run")' });
    mkdirSync(this.#dir, { recursive: true });
    const suites = [...modules.map((m) => this.#suite(m)), ...(run.length ? [{ name: '(the run)', cases: run }] : [])];
    writeFileSync(join(this.#dir, 'junit.xml'), junitXml(suites, this.#start));
    const lanes = modules.flatMap((m) => this.#lanes(m));
    writeFileSync(join(this.#dir, 'results.ktap'), ktap([...lanes, ...run.map((c) => ({ name: c.name, state: c.state, ...(c.message ? { message: c.message } : {}) }))]));
  }

  #suite(m: TestModule): ResultSuite {
    const file = relative(repoRoot, m.moduleId);
    const cases: ResultCase[] = [];
    const error = moduleErrors(m);
    if (error) cases.push({ classname: file, name: '(loading the file, or a hook outside any test)', seconds: 0, state: 'fail', message: error });
    for (const t of m.children.allTests()) {
      const guest = t.meta().guest;
      const { state, message } = stateOf(t);
      const path = suitePath(t);
      cases.push({
        classname: [file, ...path, ...(guest ? [guest.file] : [])].join(' > '),
        name: guest ? guest.name : t.name,
        seconds: guest ? guest.ms / 1000 : (t.diagnostic()?.duration ?? 0) / 1000,
        state,
        ...(message ? { message } : {}),
        ...(guest?.console ? { details: guest.console } : {}),
      });
    }
    return { name: file, cases };
  }

  /** A guest suite's lanes, as KTAP tests; nothing for a host test file. */
  #lanes(m: TestModule): KtapTest[] {
    const lanes = new Map<string, { checks: KtapTest[]; files: Map<string, KtapTest[]> }>();
    for (const t of m.children.allTests()) {
      const lane = t.meta().guestLane;
      if (lane === undefined) continue;
      let l = lanes.get(lane);
      if (!l) {
        l = { checks: [], files: new Map() };
        lanes.set(lane, l);
      }
      const guest = t.meta().guest;
      const { state, message } = stateOf(t);
      const result: KtapTest = { name: guest ? guest.name : t.name, state, ...(message ? { message } : {}) };
      if (!guest) {
        l.checks.push(result);
        continue;
      }
      const cases = l.files.get(guest.file) ?? [];
      cases.push(result);
      l.files.set(guest.file, cases);
    }
    const error = moduleErrors(m);
    return [...lanes].map(([name, l]) => ({
      name,
      subtests: [
        ...l.checks,
        // The lane's file failed outside its tests (a hook): not lost.
        ...(error ? [{ name: '(the lane outside its tests)', state: 'fail' as const, message: error }] : []),
        ...[...l.files].map(([file, subtests]) => ({ name: file, subtests })),
      ],
    }));
  }
}
