/**
 * The guest suite, seen from the host: boots the guest once while this file
 * is collected, then turns each guest test into a host test of its own, so
 * that a guest failure fails that test with the guest's message.
 */
import { describe, expect, test } from 'vitest';
import { coverageMatrix } from '../lib/coverage.js';
import { bootGuestSuite, describeFailure } from '../lib/guest-session.js';

const run = await bootGuestSuite();

describe('guest', () => {
  test('boots, runs its suite and powers off cleanly', () => {
    const failure = describeFailure(run);
    if (failure) expect.fail(failure);
    expect(run.suiteEnded).toBe(true);
  });

  test('kernel log has no warnings', () => {
    expect(run.kernelWarnings, `console log: ${run.consoleLog}`).toEqual([]);
  });

  test('every guest test file loaded and passed its kernel-log and leak checks', () => {
    const msgs = run.errors.map((e) => `${e.file ?? '(suite)'}: ${e.message}`);
    expect(msgs, `console log: ${run.consoleLog}`).toEqual([]);
  });

  test('coverage matrix: every applicable cell has a test (out/conformance.json)', () => {
    const m = coverageMatrix(run.tests);
    expect(m.empty.map((e) => `${e.row}/${e.category}`)).toEqual([]);
  });

  for (const r of run.tests) {
    const name = `${r.file} > ${r.name}`;
    if (r.state === 'skip') {
      test.skip(`${name}${r.message ? ` (skipped in guest: ${r.message})` : ' (skipped in guest)'}`, () => {});
      continue;
    }
    test(name, () => {
      if (r.state === 'fail') expect.fail(`failed in the guest:\n${r.message ?? '(no message)'}`);
    });
  }
});
