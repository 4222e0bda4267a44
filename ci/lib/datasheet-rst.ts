/**
 * The datasheet, docs/hardware.md, rendered as reStructuredText for QEMU's
 * documentation (docs/specs/ossa.rst): one source, two renderings. Handles
 * the Markdown the datasheet is written in: ATX headings, paragraphs,
 * bullet and numbered lists, pipe tables, `code`, **strong** and *emphasis*.
 * Anything else is an error, so that the rendering never silently drops a
 * part of the datasheet.
 */

/** Underline characters of heading levels 1 to 3, as QEMU's docs/specs use them. */
const UNDERLINE = ['=', '=', '-'];

/** Inline Markdown to reStructuredText: ``code``, with escapes where rst needs a boundary. */
export function inlineRst(text: string): string {
  // Code spans first; what is outside them is escaped for rst.
  const parts = text.split(/(`[^`]+`)/);
  let out = '';
  for (const part of parts) {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) {
      // rst inline markup must start after whitespace or punctuation and end before it
      if (/[\p{L}\p{N}]$/u.test(out)) out += '\\ ';
      out += `\`\`${part.slice(1, -1)}\`\``;
    } else {
      let p = part
        .replace(/\\/g, '\\\\')
        .replace(/\|/g, '\\|')
        .replace(/(\w)_(?=\W|$)/g, '$1\\_');
      if (/^[\p{L}\p{N}]/u.test(p) && out.endsWith('``')) p = `\\ ${p}`;
      out += p;
    }
  }
  return out;
}

function heading(level: number, text: string): string[] {
  const t = inlineRst(text);
  const line = (UNDERLINE[level - 1] ?? '~').repeat(Math.max(t.length, 3));
  return level === 1 ? [line, t, line, ''] : [t, line, ''];
}

function tableCells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split('|').map((c) => c.trim());
}

function listTable(rows: string[]): string[] {
  const [head, rule, ...body] = rows;
  if (head === undefined || rule === undefined || !/^\|[\s:|-]+\|$/.test(rule.trim())) {
    throw new Error(`datasheet-rst: a table without its header rule: ${rows[0] ?? ''}`);
  }
  const width = tableCells(head).length;
  const out = ['.. list-table::', '   :header-rows: 1', ''];
  for (const row of [head, ...body]) {
    const cells = tableCells(row);
    if (cells.length !== width) throw new Error(`datasheet-rst: a row of ${cells.length} cells in a table of ${width}: ${row}`);
    cells.forEach((c, i) => out.push(`${i === 0 ? '   * - ' : '     - '}${inlineRst(c)}`.trimEnd()));
  }
  out.push('');
  return out;
}

/** Renders the datasheet's Markdown as reStructuredText. */
export function datasheetRst(markdown: string): string {
  const lines = markdown.split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    const h = /^(#{1,4}) (.+)$/.exec(line);
    if (h) {
      out.push(...heading((h[1] as string).length, h[2] as string));
      i += 1;
    } else if (line.startsWith('|')) {
      const rows: string[] = [];
      while (i < lines.length && (lines[i] as string).startsWith('|')) rows.push(lines[i++] as string);
      out.push(...listTable(rows));
    } else if (/^```|^>|^ {4}\S/.test(line)) {
      throw new Error(`datasheet-rst: line ${i + 1}: Markdown this renderer does not handle: ${line}`);
    } else if (line.trim() === '') {
      if (out.length && out[out.length - 1] !== '') out.push('');
      i += 1;
    } else {
      // a paragraph or a list item with its continuation lines: as they are, inline markup converted
      out.push(inlineRst(line));
      i += 1;
    }
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}
