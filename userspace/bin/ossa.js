#!/usr/bin/env node
// The ossa CLI. In the guest image the library is compiled in place
// (src/cli.js); in a checkout it runs from the TypeScript sources via tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('../src/cli.js', import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli.ts', import.meta.url).href);
}
process.exitCode = await cli.run(process.argv.slice(2));
