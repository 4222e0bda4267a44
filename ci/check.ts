/**
 * `npm run check`: the code checks (ci/lib/checks.ts), each with its
 * warnings; exits non-zero when there is any.
 */
import { CHECKS } from './lib/checks.js';

let total = 0;
for (const [name, run] of Object.entries(CHECKS)) {
  const start = performance.now();
  let warnings: string[];
  try {
    warnings = await run();
  } catch (err) {
    warnings = [`could not run: ${(err as Error).message}`];
  }
  total += warnings.length;
  const secs = ((performance.now() - start) / 1000).toFixed(1);
  process.stdout.write(`${warnings.length ? 'FAIL' : 'ok  '} ${name}: ${warnings.length} warning(s) (${secs} s)\n`);
  for (const w of warnings) process.stdout.write(`     ${w}\n`);
}
process.stdout.write(total ? `\n${total} warning(s)\n` : '\nno warnings\n');
process.exitCode = total ? 1 : 0;
