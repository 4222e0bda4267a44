import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The root of the ossa checkout. */
export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/**
 * Where build outputs are cached: $OSSA_CACHE_DIR, else $XDG_CACHE_HOME/ossa,
 * else ~/.cache/ossa. Outside the clone, so a fresh clone reuses them.
 */
export function cacheDir(): string {
  const env = process.env;
  if (env.OSSA_CACHE_DIR) return resolve(env.OSSA_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'ossa');
}

/**
 * A path the user gave in the environment variable `name`, absolute, or
 * undefined when it is unset or empty. A relative path is the caller's:
 * npm runs scripts from the checkout and says in INIT_CWD where it was
 * started.
 */
function userPath(name: string): string | undefined {
  const path = process.env[name];
  return path ? resolve(process.env.INIT_CWD ?? process.cwd(), path) : undefined;
}

/** OSSA_QEMU_TREE: a lab's QEMU source tree. */
export const ownQemuTreeDir = (): string | undefined => userPath('OSSA_QEMU_TREE');

/** OSSA_KERNEL_TREE: a lab's Linux source tree. */
export const ownKernelTreeDir = (): string | undefined => userPath('OSSA_KERNEL_TREE');

/** OSSA_KERNEL_CONFIG: the config that kernel starts from, instead of the tree's own .config or tinyconfig. */
export const ownKernelConfig = (): string | undefined => userPath('OSSA_KERNEL_CONFIG');

/** Per-checkout outputs: logs, the build manifest, reports (git-ignored). */
export const outDir = join(repoRoot, 'out');

/** The manifest that `ci/build.ts` writes and the runners read. */
export const manifestPath = join(outDir, 'build.json');
