/**
 * The datasheet's reStructuredText rendering (QEMU's docs/specs/ossa.rst)
 * is valid for docutils, without a warning, and carries every heading and
 * every table row of docs/hardware.md.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { datasheetRst, inlineRst } from '../lib/datasheet-rst.js';
import { repoRoot } from '../lib/paths.js';

const markdown = await readFile(join(repoRoot, 'docs/hardware.md'), 'utf8');

/** docutils' messages for `rst` at INFO and above; a WARNING or worse stops it with exit 1. */
async function docutils(rst: string): Promise<{ exitCode: number; messages: string }> {
  const script = [
    'import sys, docutils.core',
    "docutils.core.publish_string(sys.stdin.read(), writer_name='null', settings_overrides={'halt_level': 2, 'report_level': 2})",
  ].join('\n');
  const r = await execa('python3', ['-c', script], { input: rst, reject: false, all: true });
  return { exitCode: r.exitCode ?? -1, messages: String(r.all ?? '') };
}

describe('the datasheet as reStructuredText', () => {
  const rst = datasheetRst(markdown);

  test('docutils reads it without a warning', async () => {
    const r = await docutils(rst);
    expect(r.messages).toBe('');
    expect(r.exitCode).toBe(0);
  });

  test('docutils would say so if it were not valid (a heading underline too short)', async () => {
    const r = await docutils('A longer title\n=====\n\ntext\n');
    expect(r.exitCode).not.toBe(0);
    expect(r.messages).toMatch(/Title underline too short/);
  });

  test('every heading and every table row of the Markdown is there', () => {
    const headings = [...markdown.matchAll(/^#{1,4} (.+)$/gm)].map((m) => inlineRst(m[1] as string));
    for (const h of headings) expect(rst.split('\n'), h).toContain(h);
    // rows less the header rules, against list-table rows
    const rows = markdown.split('\n').filter((l) => l.startsWith('|') && !/^\|[\s:|-]+\|$/.test(l)).length;
    expect(rst.split('\n').filter((l) => l.startsWith('   * - ')).length).toBe(rows);
  });

  test('inline code keeps rst boundaries, and rst specials are escaped', () => {
    expect(inlineRst('the `Q_HEAD`s of `a`,`b`')).toBe('the ``Q_HEAD``\\ s of ``a``,``b``');
    expect(inlineRst('x`y`')).toBe('x\\ ``y``');
    expect(inlineRst('a | b, CTX_ and A_B')).toBe('a \\| b, CTX\\_ and A_B');
  });

  test('Markdown it does not handle is an error, not a silent loss', () => {
    expect(() => datasheetRst('# T\n\n```\ncode\n```\n')).toThrow(/does not handle/);
    expect(() => datasheetRst('| a | b |\n|---|---|\n| 1 |\n')).toThrow(/a row of 1 cells in a table of 2/);
  });
});
