/**
 * Debian sid, for what bookworm cannot build: the newest kernel (issue 17).
 *
 * sid's package index is kept apart from the host's apt, under the cache
 * folder (its own sources, lists, status and downloads), so that nothing
 * of sid is ever installed on the host. Its signatures are checked; its
 * Release file's Valid-Until is not, as the archive here serves it past
 * that date.
 *
 * What needs sid's compiler (modules for the newest kernel's headers,
 * which depend on gcc-N-for-host) is built in a sid root made by
 * mmdebstrap, cached by what it holds, and entered with chroot.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, ExecaError } from 'execa';
import { cached, type CachedOutput } from './cache.js';
import { cacheDir } from './paths.js';
import { BuildError, log } from './progress.js';

const MIRROR = 'http://deb.debian.org/debian';
/** How sid's packages are fetched and its build root made and entered (Inputs.recipe). */
export const SID_RECIPE = 'ci/lib/sid.ts';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** How old sid's lists may get before a build fetches them again. */
const LISTS_MAX_AGE_MS = 24 * 3600 * 1000;
function aptDir(): string {
  return join(cacheDir(), 'apt-sid');
}

/**
 * apt's configuration for sid's own index, given as APT_CONFIG: apt reads
 * that file first and, with Dir::Etc::Main and Dir::Etc::Parts pointing
 * here, none of the host's apt.conf.d (whose update hooks would run), and
 * -o options come too late for that. Proxies come from http_proxy.
 */
async function writeAptConfig(): Promise<string> {
  const dir = aptDir();
  for (const d of ['apt.conf.d', 'sources.list.d', 'preferences.d', 'state/lists/partial', 'cache/archives/partial', 'log']) {
    await mkdir(join(dir, d), { recursive: true });
  }
  const conf = join(dir, 'apt.conf');
  const settings: Record<string, string> = {
    'Dir::Etc::Main': '/dev/null',
    'Dir::Etc::Parts': join(dir, 'apt.conf.d'),
    'Dir::Etc::SourceList': join(dir, 'sources.list'),
    'Dir::Etc::SourceParts': join(dir, 'sources.list.d'),
    'Dir::Etc::Preferences': join(dir, 'preferences'),
    'Dir::Etc::PreferencesParts': join(dir, 'preferences.d'),
    'Dir::State': join(dir, 'state'),
    'Dir::State::status': join(dir, 'status'),
    'Dir::Cache': join(dir, 'cache'),
    'Dir::Log': join(dir, 'log'),
    'APT::Architecture': 'amd64',
    'APT::Architectures': 'amd64',
    // The archive here serves sid's Release file past its Valid-Until.
    'Acquire::Check-Valid-Until': 'false',
    // The lists live under the user's cache folder, which apt's _apt user cannot enter.
    ...(process.getuid?.() === 0 ? { 'APT::Sandbox::User': 'root' } : {}),
  };
  await writeFile(conf, Object.entries(settings).map(([k, v]) => `${k} "${v}";\n`).join(''));
  if (!existsSync(join(dir, 'status'))) await writeFile(join(dir, 'status'), '');
  if (!existsSync(join(dir, 'preferences'))) await writeFile(join(dir, 'preferences'), '');
  return conf;
}

async function apt(tool: 'apt-get' | 'apt-cache', args: string[], cwd?: string): Promise<string> {
  const config = await writeAptConfig();
  try {
    const { stdout } = await execa(tool, args, { cwd, env: { APT_CONFIG: config, LC_ALL: 'C' } });
    return stdout;
  } catch (err) {
    const detail = err instanceof ExecaError ? String(err.stderr ?? '').trim().split('\n').slice(-5).join('\n') : String(err);
    throw new BuildError(`sid: ${tool} ${args.join(' ')} failed:\n${detail}`);
  }
}

/**
 * Fetches sid's lists when they are missing or more than a day old
 * ($OSSA_SID_REFRESH=1: always), so that the newest release is chosen from
 * what the archive serves now.
 */
export async function updateSidLists(options: { force?: boolean } = {}): Promise<void> {
  const dir = aptDir();
  const stamp = join(dir, 'updated');
  const sources = `deb [signed-by=${KEYRING}] ${MIRROR} sid main\ndeb-src [signed-by=${KEYRING}] ${MIRROR} sid main\n`;
  const have = existsSync(stamp) && (await readFile(join(dir, 'sources.list'), 'utf8').catch(() => '')) === sources;
  const fresh = have && Date.now() - (await stat(stamp)).mtimeMs < LISTS_MAX_AGE_MS;
  if (fresh && !options.force && process.env.OSSA_SID_REFRESH !== '1') return;
  await writeAptConfig();
  await writeFile(join(dir, 'sources.list'), sources);
  log('sid: fetching the package lists');
  try {
    await apt('apt-get', ['update', '-q']);
  } catch (err) {
    // Lists a day old still name what sid serves, most days: use them.
    if (!have || options.force) throw err;
    log(`sid: could not refresh the package lists (${(err as Error).message.split('\n')[0]}); using those of ${(await stat(stamp)).mtime.toISOString()}`);
    return;
  }
  await writeFile(stamp, `${new Date().toISOString()}\n`);
}

/** Names of sid's packages that match a regular expression. */
export async function sidPackageNames(pattern: string): Promise<string[]> {
  const out = await apt('apt-cache', ['search', '--names-only', pattern]);
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

/** The version sid serves of a binary package (its candidate). */
export async function sidPackageVersion(pkg: string): Promise<string> {
  const out = await apt('apt-cache', ['show', '--no-all-versions', pkg]);
  const version = /^Version: (\S+)$/m.exec(out)?.[1];
  if (!version) throw new BuildError(`sid: no version of ${pkg} in its lists`);
  return version;
}

/** `apt-cache showsrc` of a source package in sid: one stanza per version. */
export async function sidSourceStanzas(pkg: string): Promise<string[]> {
  const out = await apt('apt-cache', ['showsrc', pkg]);
  return out.split(/\n\s*\n/).filter((s) => /^Package: /m.test(s));
}

/** The archive's URL of a file in its pool. */
export function poolUrl(directory: string, file: string): string {
  return `${MIRROR}/${directory}/${encodeURIComponent(file)}`;
}

/** Downloads sid's packages (their signed checksums checked by apt) into `dir`. */
export async function downloadSidPackages(packages: string[], dir: string): Promise<void> {
  log(`sid: downloading ${packages.join(', ')}`);
  await apt('apt-get', ['download', '-q', ...packages], dir);
}

/**
 * A sid root with `packages` (and what they depend on) installed: cached by
 * the package list. Made by mmdebstrap, as root.
 */
export async function sidRoot(name: string, packages: string[]): Promise<CachedOutput> {
  return cached(name, { recipe: [SID_RECIPE], values: { suite: 'sid', mirror: MIRROR, packages: packages.join(' ') } }, async (dir) => {
    if (process.getuid?.() !== 0) {
      throw new BuildError(`sid: the build root (${name}) is made with mmdebstrap and entered with chroot: run the build as root`);
    }
    const root = join(dir, 'root');
    log(`sid: making a build root with ${packages.join(', ')}`);
    try {
      await execa('mmdebstrap', [
        '--quiet', '--mode=root', '--variant=apt',
        `--aptopt=Acquire::Check-Valid-Until "false"`,
        `--keyring=${KEYRING}`,
        `--include=${packages.join(',')}`,
        'sid', root, MIRROR,
      ], { all: true });
    } catch (err) {
      await rm(root, { recursive: true, force: true });
      if (err instanceof ExecaError && err.code === 'ENOENT') {
        throw new BuildError('sid: mmdebstrap not found: install the package mmdebstrap (ci/setup.sh does)');
      }
      const tail = err instanceof ExecaError ? String(err.all ?? '').split('\n').slice(-20).join('\n') : String(err);
      throw new BuildError(`sid: mmdebstrap failed:\n${tail}`);
    }
    // Kbuild writes to /dev/null; mmdebstrap makes it only where mknod works.
    const devNull = join(root, 'dev', 'null');
    if (!existsSync(devNull) || !(await stat(devNull)).isCharacterDevice()) {
      await rm(devNull, { force: true });
      await mkdir(join(root, 'dev'), { recursive: true });
      await execa('mknod', ['-m', '666', devNull, 'c', '1', '3']);
    }
  });
}

/** A host folder seen at `inside` (an absolute path) in the root. */
export interface SidBind {
  host: string;
  inside: string;
}

/**
 * Runs `command` in a sid root under chroot, in a mount namespace of its
 * own with /proc mounted (objtool reads its limits from it) and `binds`
 * mounted, all of which go when it ends; in an environment of its own
 * (nothing of the host's ARCH, MAKEFLAGS, TMPDIR, ...). Returns its output
 * (standard output and error); fails with the last lines of it.
 */
export async function runInSidRoot(root: string, what: string, command: string[], binds: SidBind[] = []): Promise<string> {
  for (const b of binds) await mkdir(join(root, b.inside), { recursive: true });
  const mounts = binds.map((_, i) => `mount --bind "\${${2 * i + 2}}" "$1\${${2 * i + 3}}" && `).join('');
  const script = `${mounts}mount -t proc proc "$1/proc" && shift ${2 * binds.length + 1} && exec chroot "$@"`;
  const args = ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', root, ...binds.flatMap((b) => [b.host, b.inside])];
  try {
    const r = await execa('unshare', [...args, root, ...command], {
      all: true,
      extendEnv: false,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LC_ALL: 'C' },
    });
    return String(r.all ?? '');
  } catch (err) {
    const tail = err instanceof ExecaError ? String(err.all ?? err.message).split('\n').slice(-40).join('\n') : String(err);
    throw new BuildError(`${what} failed in the sid root:\n${tail}`);
  }
}

/**
 * Builds in a sid root: `src` is copied to /build/<what>.<pid> inside it,
 * make runs there with `makeArgs` (runInSidRoot), and the `outputs` (paths
 * relative to `src`) are copied to `dest`. The copy is removed afterwards,
 * so the cached root stays as it was made.
 */
export async function buildInSidRoot(
  root: string,
  what: string,
  src: string,
  makeArgs: string[],
  outputs: string[],
  dest: string,
): Promise<void> {
  const inside = `/build/${what.replace(/[^\w.-]/g, '_')}.${process.pid}`;
  const copy = join(root, inside);
  await rm(copy, { recursive: true, force: true });
  await mkdir(join(root, 'build'), { recursive: true });
  try {
    await execa('cp', ['-a', src, copy]);
    await runInSidRoot(root, what, ['make', '-C', inside, ...makeArgs]);
    for (const out of outputs) await execa('cp', [join(copy, out), join(dest, out)]);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}
