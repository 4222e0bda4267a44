/**
 * `npm run test:subset -- NAME` (and test:host, test:guest, test:device):
 * builds what the subset's tests need, then runs them with vitest, writing
 * out/junit.xml and out/results.ktap as `npm test` does. Subsets are listed
 * in ci/lib/subsets.ts; `--list` prints them.
 */
import { execa } from 'execa';
import { repoRoot } from './lib/paths.js';
import { SUBSETS, vitestArgs } from './lib/subsets.js';

function usage(message?: string): never {
  const names = Object.entries(SUBSETS).map(([n, s]) => `  ${n.padEnd(13)} ${s.what}`);
  process.stderr.write(`${message ? `subset: ${message}\n` : ''}usage: npm run test:subset -- NAME\n${names.join('\n')}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args[0] === '--list') {
  for (const [n, s] of Object.entries(SUBSETS)) process.stdout.write(`${n}\t${s.what}\n`);
  process.exit(0);
}
if (args.length !== 1) usage(args.length ? `one subset at a time, not ${args.join(' ')}` : 'which subset?');
const name = args[0] as string;
const subset = SUBSETS[name];
if (!subset) usage(`no subset ${name}`);

const tsx = ['--import', 'tsx'];
const build = await execa(process.execPath, [...tsx, 'ci/build.ts', ...subset.build], { cwd: repoRoot, stdio: 'inherit', reject: false });
if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
const vitest = await execa('npx', ['vitest', ...vitestArgs(subset)], { cwd: repoRoot, stdio: 'inherit', reject: false });
process.exit(vitest.exitCode ?? 1);
