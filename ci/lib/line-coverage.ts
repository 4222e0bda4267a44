/**
 * Line coverage of the driver and the device, from gcov data: the driver's
 * .gcda files come from the debug kernel's debugfs (the guest sends them
 * after its suite), the device's are written by the gcov build of QEMU
 * (the ASan one) under QEMU_GCOV_PREFIX at each QEMU's exit. gcov's JSON
 * output gives the counts per line; this module turns them into an lcov
 * tracefile per part, an HTML report (genhtml) and a table.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { outDir, repoRoot } from './paths.js';

export const coverageDir = join(outDir, 'coverage');
/** QEMU's GCOV_PREFIX: every gcov build of QEMU writes its data files under it. */
export const qemuGcovPrefix = join(coverageDir, 'qemu-gcda');
/** Where the debug guest's driver data files are written. */
export const driverGcdaDir = join(coverageDir, 'driver-gcda');

/** The environment a QEMU run needs so that a gcov build's data lands in the report. */
export function qemuCoverageEnv(): Record<string, string> {
  return { GCOV_PREFIX: qemuGcovPrefix, GCOV_PREFIX_STRIP: '0' };
}

export interface FileCoverage {
  /** Repository path, e.g. kernel-driver/ossa_job.c. */
  file: string;
  /** Lines with code. */
  lines: number;
  /** Lines run at least once. */
  hit: number;
  /** Line numbers never run. */
  missed: number[];
  /** Each function's first and last line with code. */
  functions: Record<string, [number, number]>;
}

interface GcovJson {
  files: Array<{ file: string; lines: Array<{ line_number: number; count: number; function_name?: string }> }>;
}

/** Per source file: each line's run count and function. */
type LineCounts = Map<number, { count: number; fn: string }>;

async function findFiles(dir: string, test: (name: string) => boolean): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && test(e.name)).map((e) => join(e.parentPath, e.name));
}

/**
 * Runs gcov on data files whose notes (.gcno, same stem) sit beside them;
 * keeps the source files that `repoPathOf` maps into the repository.
 */
async function gcovLines(gcdaFiles: string[], repoPathOf: (source: string) => string | undefined): Promise<Map<string, LineCounts>> {
  const out = new Map<string, LineCounts>();
  for (const gcda of gcdaFiles) {
    const { stdout } = await execa('gcov', ['--json-format', '--stdout', gcda], { cwd: join(gcda, '..') });
    for (const doc of stdout.split('\n').filter((l) => l.startsWith('{'))) {
      const json = JSON.parse(doc) as GcovJson;
      for (const f of json.files) {
        const repoPath = repoPathOf(f.file);
        if (!repoPath) continue;
        const lines: LineCounts = out.get(repoPath) ?? new Map();
        for (const l of f.lines) {
          const seen = lines.get(l.line_number);
          lines.set(l.line_number, { count: (seen?.count ?? 0) + l.count, fn: seen?.fn ?? l.function_name ?? '' });
        }
        out.set(repoPath, lines);
      }
    }
  }
  return out;
}

function summarize(lines: Map<string, LineCounts>): FileCoverage[] {
  return [...lines.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([file, counts]) => {
      const missed = [...counts.entries()].filter(([, c]) => c.count === 0).map(([n]) => n).sort((a, b) => a - b);
      const functions: Record<string, [number, number]> = {};
      for (const [n, { fn }] of counts) {
        const r = functions[fn];
        functions[fn] = r ? [Math.min(r[0], n), Math.max(r[1], n)] : [n, n];
      }
      return { file, lines: counts.size, hit: counts.size - missed.length, missed, functions };
    });
}

function lcovTracefile(name: string, lines: Map<string, LineCounts>): string {
  const out: string[] = [];
  for (const [file, counts] of [...lines.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push(`TN:${name}`, `SF:${join(repoRoot, file)}`);
    const sorted = [...counts.entries()].sort(([a], [b]) => a - b);
    for (const [n, c] of sorted) out.push(`DA:${n},${c.count}`);
    out.push(`LF:${sorted.length}`, `LH:${sorted.filter(([, c]) => c.count > 0).length}`, 'end_of_record');
  }
  return `${out.join('\n')}\n`;
}

/** A source path gcov reports -> the repository's copy, for files of `folder`. */
function inFolder(folder: string, names: ReadonlySet<string>): (source: string) => string | undefined {
  return (source) => (names.has(basename(source)) ? `${folder}/${basename(source)}` : undefined);
}

async function sourcesOf(folder: string): Promise<Set<string>> {
  return new Set((await readdir(join(repoRoot, folder))).filter((f) => /\.[ch]$/.test(f)));
}

export interface PartCoverage {
  part: 'driver' | 'device';
  files: FileCoverage[];
  tracefile: string;
}

/**
 * One part's coverage: gcov on its data files, each with the notes of the
 * same name from `notesDir` copied beside it, keeping the sources of the
 * repository folder `folder`; writes out/coverage/<part>.info.
 */
async function partCoverage(part: PartCoverage['part'], folder: string, gcda: string[], notesDir: string): Promise<PartCoverage | undefined> {
  if (!gcda.length) return undefined;
  for (const g of gcda) {
    const notes = join(notesDir, basename(g).replace(/\.gcda$/, '.gcno'));
    if (existsSync(notes)) await copyFile(notes, g.replace(/\.gcda$/, '.gcno'));
  }
  const lines = await gcovLines(gcda, inFolder(folder, await sourcesOf(folder)));
  const tracefile = join(coverageDir, `${part}.info`);
  await writeFile(tracefile, lcovTracefile(part, lines));
  return { part, files: summarize(lines), tracefile };
}

/** The driver's coverage from the data files the debug guest sent, with the notes of its build. */
export async function driverCoverage(driverBuild: string): Promise<PartCoverage | undefined> {
  const gcda = await findFiles(driverGcdaDir, (n) => n.endsWith('.gcda'));
  return partCoverage('driver', 'kernel-driver', gcda, driverBuild);
}

/** The device's coverage from the data files QEMU runs wrote under the prefix. */
export async function deviceCoverage(gcnoDir: string): Promise<PartCoverage | undefined> {
  const gcda = await findFiles(qemuGcovPrefix, (n) => n.startsWith('hw_misc_ossa_') && n.endsWith('.gcda'));
  return partCoverage('device', 'qemu-device', gcda, gcnoDir);
}

/** Writes the driver data files the guest sent (named by their debugfs path). */
export async function saveDriverGcda(files: ReadonlyArray<{ path: string; data: Buffer }>): Promise<void> {
  await rm(driverGcdaDir, { recursive: true, force: true });
  await mkdir(driverGcdaDir, { recursive: true });
  for (const f of files) await writeFile(join(driverGcdaDir, basename(f.path)), f.data);
}

/** Empties the data and reports of earlier runs, before a test run. */
export async function resetCoverageData(): Promise<void> {
  await rm(coverageDir, { recursive: true, force: true });
  await mkdir(qemuGcovPrefix, { recursive: true });
}

/** The HTML report of both parts (Debian's genhtml), in out/coverage/html. */
export async function htmlReport(parts: PartCoverage[]): Promise<string> {
  const html = join(coverageDir, 'html');
  await rm(html, { recursive: true, force: true });
  await execa('genhtml', ['--quiet', '--output-directory', html, '--title', 'ossa: driver and device', ...parts.map((p) => p.tracefile)]);
  return join(html, 'index.html');
}

/** A part's lines with code, and those run. */
export function partTotals(part: PartCoverage): { lines: number; hit: number } {
  return { lines: part.files.reduce((a, f) => a + f.lines, 0), hit: part.files.reduce((a, f) => a + f.hit, 0) };
}

const pct = (hit: number, lines: number): string => (lines ? `${((100 * hit) / lines).toFixed(1)} %` : 'n/a');

/** Lines "ranges" like 12-15, 40. */
export function lineRanges(lines: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (j + 1 < lines.length && (lines[j + 1] as number) === (lines[j] as number) + 1) j++;
    out.push(i === j ? String(lines[i]) : `${lines[i]}-${lines[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** The per-file table, then the lines never run, per file. */
export function formatCoverage(parts: PartCoverage[]): string {
  const rows = parts.flatMap((p) => p.files.map((f) => ({ ...f, part: p.part })));
  const w = Math.max(4, ...rows.map((r) => r.file.length));
  const out = [`${'file'.padEnd(w)}  ${'lines'.padStart(6)}  ${'hit'.padStart(6)}  ${'cover'.padStart(8)}`];
  const missed = rows.filter((f) => f.missed.length).map((f) => `  ${f.file}: ${lineRanges(f.missed)}`);
  for (const p of parts) {
    for (const f of p.files) out.push(`${f.file.padEnd(w)}  ${String(f.lines).padStart(6)}  ${String(f.hit).padStart(6)}  ${pct(f.hit, f.lines).padStart(8)}`);
    const { lines, hit } = partTotals(p);
    out.push(`${`${p.part} total`.padEnd(w)}  ${String(lines).padStart(6)}  ${String(hit).padStart(6)}  ${pct(hit, lines).padStart(8)}`, '');
  }
  if (missed.length) out.push('lines never run:', ...missed);
  return out.join('\n');
}

/** The device's gcov notes, kept beside the gcov build of QEMU (build-qemu.sh asan). */
export function qemuGcnoDir(qemuGcovBinary: string): string {
  return join(qemuGcovBinary, '..', '..', 'gcno');
}
