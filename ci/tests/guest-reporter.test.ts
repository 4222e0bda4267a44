/**
 * The guest's results reporter (ci/guest/reporter.ts) under a real vitest
 * run of a small suite written here: what the host learns of a test that
 * fails by its timeout and of a hook that fails (its tests are only
 * skipped, so the hook's error must reach the host), and each file's wall
 * time.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startVitest } from 'vitest/node';
import { ChannelReporter } from '../guest/reporter.js';
import { outDir } from '../lib/paths.js';
import { type GuestMessage, parseGuestMessage } from '../lib/protocol.js';

// Inside the repository, so that the suite's `import 'vitest'` resolves.
const root = join(outDir, 'reporter-test');
const SUITE = `
import { afterAll, beforeAll, describe, test } from 'vitest';
test('passes', () => {});
test('outlives its timeout', () => new Promise((resolve) => setTimeout(resolve, 2000)), 100);
describe('a block whose set-up fails', () => {
  beforeAll(() => {
    throw new Error('set-up failed on purpose');
  });
  test('never runs', () => {});
});
describe('a block whose tear-down fails', () => {
  afterAll(() => {
    throw new Error('tear-down failed on purpose');
  });
  test('runs', () => {});
});
`;

let messages: GuestMessage[] = [];

beforeAll(async () => {
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'suite.test.js'), SUITE);
  const channel = join(root, 'channel.jsonl');
  const fd = openSync(channel, 'w');
  const exitCode = process.exitCode;
  try {
    const vitest = await startVitest('test', [], {
      root,
      watch: false,
      config: false,
      include: ['suite.test.js'],
      reporters: [new ChannelReporter(fd, root)],
      pool: 'threads',
    });
    await vitest.close();
  } finally {
    closeSync(fd);
    // startVitest sets the exit code of the suite it ran (a failure): not this file's.
    process.exitCode = exitCode;
  }
  messages = readFileSync(channel, 'utf8')
    .split('\n')
    .map((l) => parseGuestMessage(l))
    .filter((m): m is GuestMessage => m !== undefined);
}, 60_000);

afterAll(() => rm(root, { recursive: true, force: true }));

describe('the guest reporter', () => {
  test('a test that fails by its timeout is reported with vitest\'s message, not only the placeholder stack', () => {
    const failed = messages.find((m) => m.type === 'test' && m.name === 'outlives its timeout');
    expect(failed).toMatchObject({ type: 'test', state: 'fail', file: 'suite.test.js' });
    expect(failed?.type === 'test' ? failed.message : '').toMatch(/Test timed out in 100ms/);
  });

  test('a hook that fails inside a describe block reaches the host as an error of its file, naming the block', () => {
    const errors = messages.filter((m) => m.type === 'error');
    expect(errors).toEqual([
      expect.objectContaining({ type: 'error', file: 'suite.test.js', message: expect.stringMatching(/a block whose set-up fails: .*set-up failed on purpose/s) }),
      expect.objectContaining({ type: 'error', file: 'suite.test.js', message: expect.stringMatching(/a block whose tear-down fails: .*tear-down failed on purpose/s) }),
    ]);
  });

  test('each file\'s wall time is sent when it ends', () => {
    const ends = messages.filter((m) => m.type === 'file-end');
    expect(ends).toHaveLength(1);
    const end = ends[0];
    expect(end).toMatchObject({ type: 'file-end', file: 'suite.test.js' });
    // The timed-out test alone waited 100 ms.
    expect(end?.type === 'file-end' ? end.seconds : 0).toBeGreaterThan(0.1);
  });

  test('the suite ends with its counts', () => {
    expect(messages.at(-1)).toMatchObject({ type: 'suite-end', passed: 2, failed: 1, skipped: 1 });
  });
});
