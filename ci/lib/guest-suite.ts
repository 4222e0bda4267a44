/**
 * The guest suite, seen from the host: boots the guest on one kernel while
 * the test file is collected, then turns each guest test into a host test
 * of its own, so that a guest failure fails that test with the guest's
 * message. Used once per lane (ci/tests/guest*.test.ts, ci/matrix/).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { consoleExcerpt } from './console.js';
import { coverageMatrix } from './coverage.js';
import { bootGuestSuite, describeFailure, type Lane, laneLabel } from './guest-session.js';
import { GUEST_FAILURE, type GuestCaseMeta } from './results-reporter.js';

/** The guest suite on one lane. */
export async function defineGuestSuite(l: Partial<Lane> = {}): Promise<void> {
  const label = laneLabel(l);
  const lane = label ? `guest (${label})` : 'guest';
  // Every test of the lane says so, for out/results.ktap (ci/lib/results-reporter.ts).
  const check = { meta: { guestLane: lane } };
  const booted = await bootGuestSuite(l).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  if (booted instanceof Error) {
    // No guest ran (the build lacks a part, QEMU did not start): the lane fails with why.
    describe(lane, () => {
      test('boots, runs its suite and powers off cleanly', check, () => {
        throw booted;
      });
    });
    return;
  }
  const run = booted;

  describe(lane, () => {
    test('boots, runs its suite and powers off cleanly', check, () => {
      const failure = describeFailure(run);
      if (failure) expect.fail(failure);
      expect(run.suiteEnded).toBe(true);
      // A filter that matched no file, or a runner that found none, runs nothing and fails nothing.
      expect(run.tests.length, 'guest tests that reported a result').toBeGreaterThan(0);
    });

    test('kernel log has no warnings and no debug-checker findings', check, () => {
      expect(run.kernelWarnings, `console log: ${run.consoleLog}`).toEqual([]);
    });

    test('every guest test file loaded and passed its kernel-log and leak checks', check, () => {
      const msgs = run.errors.map((e) => `${e.file ?? '(suite)'}: ${e.message}`);
      expect(msgs, `console log: ${run.consoleLog}`).toEqual([]);
    });

    const partial = process.env.OSSA_GUEST_FILTER ? `OSSA_GUEST_FILTER=${process.env.OSSA_GUEST_FILTER} ran part of the suite` : undefined;
    test.skipIf(partial)(`coverage matrix: every applicable cell has a test (out/conformance*.json)${partial ? ` (skipped: ${partial})` : ''}`, check, () => {
      const m = coverageMatrix(run.tests);
      expect(m.empty.map((e) => `${e.row}/${e.category}`)).toEqual([]);
    });

    test('every ioctl a test claims in its name, it issued (kernel syscall trace)', check, () => {
      const m = coverageMatrix(run.tests);
      expect(m.unobserved.map((u) => `${u.test}: ${u.row}: ${u.why}`)).toEqual([]);
    });

    // For out/junit.xml and out/results.ktap (ci/lib/results-reporter.ts).
    const consoleLines = run.tests.some((r) => r.state === 'fail') && existsSync(run.consoleLog) ? readFileSync(run.consoleLog, 'utf8').split('\n') : [];
    for (const r of run.tests) {
      const name = `${r.file} > ${r.name}`;
      const excerpt = r.state === 'fail' ? consoleExcerpt(consoleLines, r.file, r.name) : undefined;
      const guest: GuestCaseMeta = {
        file: r.file,
        name: r.name,
        ms: r.durationMs,
        ...(excerpt ? { console: excerpt } : {}),
        ...(r.state === 'skip' && r.message ? { skipped: r.message } : {}),
      };
      if (r.state === 'skip') {
        test.skip(`${name}${r.message ? ` (skipped in guest: ${r.message})` : ' (skipped in guest)'}`, { meta: { guestLane: lane, guest } }, () => {});
        continue;
      }
      test(name, { meta: { guestLane: lane, guest } }, () => {
        if (r.state === 'fail') expect.fail(`${GUEST_FAILURE}${r.message ?? '(no message)'}`);
      });
    }

    // A file's own checks after its tests (kernel log, driver objects,
    // kmemleak) or its load failed: a failing test under that file too.
    const AFTER_FILE = '(the file: loading, and its kernel-log and leak checks)';
    for (const file of new Set(run.errors.flatMap((e) => (e.file ? [e.file] : [])))) {
      const message = run.errors
        .filter((e) => e.file === file)
        .map((e) => e.message)
        .join('\n\n');
      test(`${file} > ${AFTER_FILE}`, { meta: { guestLane: lane, guest: { file, name: AFTER_FILE, ms: 0 } } }, () => {
        expect.fail(`${GUEST_FAILURE}${message}`);
      });
    }
  });
}
