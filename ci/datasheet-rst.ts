/**
 * `npx tsx ci/datasheet-rst.ts [OUT]`: writes docs/hardware.md as
 * reStructuredText, for QEMU's docs/specs/ossa.rst (docs/upstream.md), to
 * OUT or standard output.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasheetRst } from './lib/datasheet-rst.js';
import { repoRoot } from './lib/paths.js';

const rst = datasheetRst(await readFile(join(repoRoot, 'docs/hardware.md'), 'utf8'));
const out = process.argv[2];
if (out) await writeFile(out, rst);
else process.stdout.write(rst);
