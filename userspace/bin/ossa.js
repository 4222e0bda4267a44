#!/usr/bin/env node
// The ossa CLI. It runs the compiled library beside it: dist/ in the npm
// package, src/ in the guest image. Nothing is compiled at run time.
import { existsSync } from 'node:fs';

const found = ['../dist/cli.js', '../src/cli.js'].map((rel) => new URL(rel, import.meta.url)).find((url) => existsSync(url));
if (!found) {
  process.stderr.write('ossa: the compiled library is missing beside bin/ (dist/cli.js); install the ossa-accel package, or build it with `npm run build`\n');
  process.exit(3);
}
const cli = await import(found.href);
process.exitCode = await cli.run(process.argv.slice(2));
