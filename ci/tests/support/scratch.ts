/**
 * A scratch folder for a test file's trees, made before its tests and
 * removed after, and a way to write files into it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, onTestFinished } from 'vitest';

/** A folder under the system's temporary folder, named `prefix…`, for the calling test file; `path()` is valid from beforeAll on. */
export function scratchDir(prefix: string): { path: () => string } {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    path: () => {
      if (!dir) throw new Error('the scratch folder is made in beforeAll');
      return dir;
    },
  };
}

/** Writes each file (path relative to `root`: its text), making folders as needed. */
export async function put(root: string, files: Record<string, string>): Promise<void> {
  for (const [f, text] of Object.entries(files)) {
    await mkdir(join(root, f, '..'), { recursive: true });
    await writeFile(join(root, f), text);
  }
}

/** Points OSSA_CACHE_DIR at `path` for the running test, and back when it ends. */
export function useCacheDir(path: string): void {
  const was = process.env.OSSA_CACHE_DIR;
  process.env.OSSA_CACHE_DIR = path;
  onTestFinished(() => {
    if (was === undefined) delete process.env.OSSA_CACHE_DIR;
    else process.env.OSSA_CACHE_DIR = was;
  });
}
