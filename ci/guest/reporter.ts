/**
 * A vitest reporter that sends each test's result to the host over the
 * results channel as soon as it is known.
 */
import { writeSync } from 'node:fs';
import { relative } from 'node:path';
import type { UserConsoleLog } from 'vitest';
import type { Reporter, TestCase, TestModule, TestSpecification } from 'vitest/node';
import type { IoctlRecord } from '../lib/coverage.js';
import type { GuestMessage, TestState } from '../lib/protocol.js';

function uptime(): number {
  return process.uptime();
}

export class ChannelReporter implements Reporter {
  #passed = 0;
  #failed = 0;
  #skipped = 0;

  constructor(
    private readonly fd: number,
    private readonly root: string,
  ) {}

  /** performance.now() of the last message sent. */
  lastSent = performance.now();

  send(message: GuestMessage): void {
    writeSync(this.fd, `${JSON.stringify(message)}\n`);
    this.lastSent = performance.now();
  }

  // Files run one at a time (fileParallelism: false): each file's cost is
  // the time since the previous one ended, or the run started.
  #fileStart = 0;

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.#fileStart = performance.now();
    this.send({ type: 'suite-start', uptime: uptime(), files: specifications.length });
  }

  onTestModuleEnd(testModule: TestModule): void {
    const now = performance.now();
    this.send({ type: 'file-end', file: relative(this.root, testModule.moduleId), seconds: (now - this.#fileStart) / 1000 });
    this.#fileStart = now;
  }

  // The first file's way to its first test, for the start-up breakdown.
  #queued = false;
  #collected = false;

  onTestModuleQueued(): void {
    if (!this.#queued) this.send({ type: 'phase', name: 'first file queued (worker ready)' });
    this.#queued = true;
  }

  onTestModuleCollected(): void {
    if (!this.#collected) this.send({ type: 'phase', name: 'first file collected (imports done)' });
    this.#collected = true;
  }

  onTestCaseResult(testCase: TestCase): void {
    const result = testCase.result();
    const diagnostic = testCase.diagnostic();
    let state: TestState;
    let message: string | undefined;
    if (result.state === 'failed') {
      state = 'fail';
      // With the assertion's diff: the host shows only what is sent here.
      // A timeout's stack is vitest's placeholder ("Error: STACK_TRACE_ERROR"
      // and the test's location), without the message that says so.
      message = result.errors
        .map((e) => [e.stack?.includes(e.message) ? e.stack : [e.message, e.stack], e.diff].flat().filter(Boolean).join('\n'))
        .join('\n\n');
      this.#failed++;
    } else if (result.state === 'skipped') {
      state = 'skip';
      message = result.note;
      this.#skipped++;
    } else {
      state = 'pass';
      this.#passed++;
    }
    const file = relative(this.root, testCase.module.moduleId);
    // Set by the suite's setup file from the kernel's syscall trace.
    const ioctls = (testCase.meta() as { ioctls?: IoctlRecord }).ioctls;
    // One plain line per test on the console too, so that the console log
    // reads as a record of the run next to the kernel's messages.
    process.stdout.write(`ossa-test: ${state.toUpperCase()} ${file} > ${testCase.fullName}\n`);
    this.send({
      type: 'test',
      file,
      name: testCase.fullName,
      state,
      durationMs: diagnostic?.duration ?? 0,
      ...(message ? { message } : {}),
      ...(ioctls ? { ioctls } : {}),
    });
  }

  // What a test prints (measurements) goes to the console log, marked.
  onUserConsoleLog(log: UserConsoleLog): void {
    for (const line of log.content.trimEnd().split('\n')) process.stdout.write(`ossa-test: ${log.type}: ${line}\n`);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<{ message?: string; stack?: string }>): void {
    for (const mod of modules) {
      const file = relative(this.root, mod.moduleId);
      for (const err of mod.errors()) this.send({ type: 'error', file, message: err.stack ?? err.message });
      // A beforeAll or afterAll that throws in a describe block fails the
      // block, not a test: its tests are only skipped (or passed). The
      // block's errors are what says so.
      for (const suite of mod.children.allSuites()) {
        for (const err of suite.errors()) this.send({ type: 'error', file, message: `${suite.fullName}: ${err.stack ?? err.message}` });
      }
    }
    for (const err of errors) {
      this.send({ type: 'error', message: err.stack ?? err.message ?? String(err) });
    }
    this.send({
      type: 'suite-end',
      uptime: uptime(),
      passed: this.#passed,
      failed: this.#failed,
      skipped: this.#skipped,
    });
  }
}
