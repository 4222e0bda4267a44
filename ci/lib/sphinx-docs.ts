/**
 * The patch series' documentation built with Sphinx as each tree builds
 * its own: Linux's Documentation/accel with `make SPHINXDIRS=accel
 * htmldocs` (the tree's conf.py and extensions, kernel-doc among them),
 * QEMU's whole docs/ with its conf.py and the -W its meson build passes.
 * Debian's python3-sphinx runs both.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cached } from './cache.js';
import { readUndatedPatch } from './git-tree.js';

/** What a Sphinx build said, and the page it wrote for ossa. */
export interface SphinxBuild {
  /** The build's warning lines, each with the file it names. */
  warnings: string[];
  /** The ossa page, as HTML. */
  html: string;
}

/** Lines of Sphinx output that are warnings or errors (docutils' levels). */
export function sphinxWarnings(output: string): string[] {
  return output.split('\n').filter((l) => /\b(WARNING|ERROR|SEVERE|CRITICAL):/.test(l));
}

/** The warnings that name one of ossa's files: the Documentation pages, the uapi header or the driver. */
export function ossaWarnings(warnings: readonly string[]): string[] {
  return warnings.filter((w) => /accel\/ossa\/|ossa_accel\.h|specs\/ossa\.rst/.test(w));
}

/**
 * Documentation/accel of the Linux tree `work` (holding the series) as
 * HTML. The subset leaves out what other accel pages link to elsewhere
 * (their warnings are not ossa's: see ossaWarnings()).
 */
export async function linuxAccelDocs(work: string): Promise<SphinxBuild> {
  const out = await mkdtemp(join(tmpdir(), 'ossa-htmldocs-'));
  try {
    const r = await execa('make', ['SPHINXDIRS=accel', `BUILDDIR=${out}`, 'htmldocs'], { cwd: work, all: true, reject: false });
    if (r.exitCode !== 0) throw new Error(`make htmldocs failed (${r.exitCode}):\n${r.all}`);
    return { warnings: sphinxWarnings(String(r.all)), html: await readFile(join(out, 'accel/ossa/index.html'), 'utf8') };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** QEMU's docs/ of the tree `work` (holding the series), with warnings as errors as QEMU's build makes them. */
export async function qemuDocs(work: string): Promise<SphinxBuild> {
  const out = await mkdtemp(join(tmpdir(), 'ossa-qemu-docs-'));
  try {
    const r = await execa(
      'sphinx-build',
      ['-q', '-W', '--keep-going', '-b', 'html', '-d', join(out, 'doctrees'), 'docs', join(out, 'html')],
      { cwd: work, all: true, reject: false, env: { CONFDIR: '/etc/qemu' } },
    );
    const warnings = sphinxWarnings(String(r.all));
    if (r.exitCode !== 0 && !warnings.length) throw new Error(`sphinx-build failed (${r.exitCode}):\n${r.all}`);
    return { warnings, html: await readFile(join(out, 'html/specs/ossa.html'), 'utf8') };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Debian's packages that a Sphinx build's pages and warnings depend on. */
const SPHINX_PACKAGES = ['python3', 'python3-sphinx', 'python3-sphinx-rtd-theme', 'python3-docutils', 'python3-pygments', 'python3-jinja2', 'python3-babel'];

/** Their versions, one line each; a package that is not installed says so (dpkg-query's message). */
async function sphinxPackages(): Promise<string> {
  const r = await execa('dpkg-query', ['-W', '-f', '${Package} ${Version}\n', ...SPHINX_PACKAGES], { reject: false });
  return `${r.stdout}\n${r.stderr}`;
}

/**
 * qemuDocs() of a tree that is the pristine tree `treeKey` with `series`
 * applied, kept in the build cache: the same tree, series (but for each
 * patch's Date: line) and Sphinx packages make the same pages and
 * warnings, and QEMU's whole docs/ take a minute or two to build.
 */
export async function cachedQemuDocs(work: string, treeKey: string, series: readonly string[]): Promise<SphinxBuild> {
  const hash = createHash('sha256');
  for (const patch of series) hash.update(await readUndatedPatch(patch));
  const inputs = { files: ['ci/lib/sphinx-docs.ts'], recipe: ['ci/lib/sphinx-docs.ts'], values: { tree: treeKey, series: hash.digest('hex'), sphinx: await sphinxPackages() } };
  const out = await cached('qemu-docs', inputs, async (dir) => {
    await writeFile(join(dir, 'build.json'), JSON.stringify(await qemuDocs(work)));
  });
  return JSON.parse(await readFile(join(out.dir, 'build.json'), 'utf8')) as SphinxBuild;
}
