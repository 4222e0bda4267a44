/**
 * out/junit.xml and out/results.ktap (ci/lib/results-reporter.ts), read
 * back by real consumers: the reporter runs in a vitest run of its own over
 * a host test file and a guest lane made up for it (passes, failures with
 * markup and colour codes, skips, a '#' in a name), then junit2json parses
 * the JUnit file as CI engines' importers do, and the kernel's own
 * `kunit.py parse` (tools/testing/kunit of the newest kernel tree) the
 * KTAP file.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'junit2json';
import { beforeAll, describe, expect, test } from 'vitest';
import { readManifest } from '../lib/manifest.js';
import { outDir, repoRoot } from '../lib/paths.js';

const fixture = join(outDir, 'results-fixture');
const results = join(fixture, 'out');

const HOST_FILE = `import { expect, test } from 'vitest';
test('passes', () => {});
test('fails <&> "quoted"', () => { throw new Error('\\x1b[31mred\\x1b[39m is not <blue> & bell\\x07 rings'); });
test.skip('is skipped', () => {});
`;

// As ci/lib/guest-suite.ts defines a lane: a describe block with the
// lane's own checks, then one test per guest test, its meta saying what
// the guest said; and a lane whose guest never booted.
const LANE_FILE = `import { describe, expect, test } from 'vitest';
const lane = { meta: { guestLane: 'guest (a lane)' } };
const guest = (file, name, ms, more = {}) => ({ meta: { guestLane: 'guest (a lane)', guest: { file, name, ms, ...more } } });
describe('guest (a lane)', () => {
  test('boots, runs its suite and powers off cleanly', lane, () => {});
  test('conformance/x.test.js > X > one', guest('conformance/x.test.js', 'X > one', 1500), () => {});
  test('conformance/x.test.js > X > two #2', guest('conformance/x.test.js', 'X > two #2', 20, { console: '[    1.000000] ossa 0000:00:03.0: something\\nossa-test: FAIL conformance/x.test.js > X > two #2' }), () => {
    expect.fail('failed in the guest:\\nboom\\rreboot: System halted\\u0085ok 9 not a result');
  });
  test.skip('version.test.js > v (skipped in guest: no vgem)', guest('version.test.js', 'v', 0, { skipped: 'no vgem' }), () => {});
});
describe('guest (a lane that never booted)', () => {
  test('boots, runs its suite and powers off cleanly', { meta: { guestLane: 'guest (a lane that never booted)' } }, () => {
    throw new Error('QEMU did not start');
  });
});
`;

beforeAll(async () => {
  await rm(fixture, { recursive: true, force: true });
  await mkdir(fixture, { recursive: true });
  await writeFile(join(fixture, 'host.test.ts'), HOST_FILE);
  await writeFile(join(fixture, 'lane.test.ts'), LANE_FILE);
  const config = `export default { test: { include: ['*.test.ts'], fileParallelism: false, reporters: [[${JSON.stringify(join(repoRoot, 'ci/lib/results-reporter.ts'))}, { dir: ${JSON.stringify(results)} }]] } };\n`;
  await writeFile(join(fixture, 'vitest.config.mjs'), config);
  const r = await execa(process.execPath, [join(repoRoot, 'node_modules/vitest/vitest.mjs'), 'run', '--root', fixture, '--config', join(fixture, 'vitest.config.mjs')], {
    reject: false,
    all: true,
    env: { CI: '1' },
  });
  // Two tests fail on purpose: vitest exits 1.
  expect(r.exitCode, r.all).toBe(1);
}, 120_000);

describe('out/junit.xml', () => {
  test('junit2json reads every file and test back: counts, classnames, guest durations, failure text (markup, no colour codes, the guest console) and skip reasons', async () => {
    const report = await parse(await readFile(join(results, 'junit.xml'), 'utf8'));
    expect(report).toMatchObject({ tests: 8, failures: 3, errors: 0 });
    const suites = (report as { testsuite?: Array<{ name?: string; tests?: number; failures?: number; skipped?: number; testcase?: Array<Record<string, unknown>> }> }).testsuite ?? [];
    expect(suites.map((s) => [s.name, s.tests, s.failures, s.skipped])).toEqual([
      ['out/results-fixture/host.test.ts', 3, 1, 1],
      ['out/results-fixture/lane.test.ts', 5, 2, 1],
    ]);
    const [host, lane] = suites.map((s) => s.testcase ?? []);
    const failed = host?.find((c) => c.name === 'fails <&> "quoted"') as { failure?: Array<{ message?: string; inner?: string }> };
    expect(failed.failure?.[0]?.inner).toBe('red is not <blue> & bell rings');
    expect(host?.find((c) => c.name === 'is skipped')).toHaveProperty('skipped');
    const byName = new Map(lane?.map((c) => [c.name, c]));
    expect(byName.get('X > one')).toMatchObject({ classname: 'out/results-fixture/lane.test.ts > guest (a lane) > conformance/x.test.js', time: 1.5 });
    const guestFailure = (byName.get('X > two #2') as { failure?: Array<{ inner?: string }> }).failure?.[0]?.inner ?? '';
    expect(guestFailure).toMatch(/^boom\r/);
    expect(guestFailure).toContain('--- guest console ---\n[    1.000000] ossa 0000:00:03.0: something');
    expect(byName.get('v')).toMatchObject({ skipped: [{ message: 'no vgem' }] });
  });
});

const tree = (await readManifest()).newest?.linuxTree;
const noTree = tree ? undefined : 'this build has no newest kernel tree (tsx ci/build.ts --linux-tree; npm test builds it)';

describe('out/results.ktap', () => {
  test.skipIf(noTree)(`the kernel's kunit.py parse reads it: a test per lane (one that never booted too), a subtest per guest test file, each test's state, a failure's text whatever it holds${noTree ? ` (skipped: ${noTree})` : ''}`, async () => {
    const json = join(results, 'kunit.json');
    const kunit = join(tree?.dir ?? '', 'tools/testing/kunit/kunit.py');
    const r = await execa('python3', [kunit, 'parse', `--json=${json}`, join(results, 'results.ktap')], { reject: false, all: true });
    // kunit.py exits 1 when a test failed, as one did.
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/Ran 5 tests: passed: 2, failed: 2, skipped: 1/);
    expect(r.all).not.toMatch(/\[ERROR\]|parse error|could not find/i);
    interface Group {
      name: string;
      sub_groups: Group[];
      test_cases: Array<{ name: string; status: string }>;
      misc: { errors: number };
    }
    const top = JSON.parse(await readFile(json, 'utf8')) as Group;
    const lane = top.sub_groups.find((g) => g.name === 'guest (a lane)');
    expect(lane?.test_cases).toEqual([{ name: 'boots, runs its suite and powers off cleanly', status: 'PASS' }]);
    expect(lane?.sub_groups.map((g) => [g.name, g.test_cases, g.misc.errors])).toEqual([
      [
        'conformance/x.test.js',
        [
          { name: 'X > one', status: 'PASS' },
          { name: 'X > two %232', status: 'FAIL' },
        ],
        0,
      ],
      ['version.test.js', [{ name: 'v', status: 'SKIP' }], 0],
    ]);
    const unbooted = top.sub_groups.find((g) => g.name === 'guest (a lane that never booted)');
    expect(unbooted?.test_cases).toEqual([{ name: 'boots, runs its suite and powers off cleanly', status: 'FAIL' }]);
    // Each line of the failure's text is a diagnostic line, whatever breaks it.
    const text = await readFile(join(results, 'results.ktap'), 'utf8');
    expect(text).toMatch(/^ {8}# boom\n {8}# reboot - System halted\n {8}# ok 9 not a result\n {8}not ok 2 X > two %232$/m);
  });
});
