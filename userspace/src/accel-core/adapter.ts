/**
 * What the accel-core tier needs from the driver under test, beyond the
 * DRM core: a buffer the CPU can map. Accel drivers have no common way to
 * create one (no dumb buffers), so each driver gives an adapter: a module
 * that exports `adapter`, an AccelAdapter.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { AccelFile } from './file.js';

export interface AccelAdapter {
  /** The driver it serves, as DRM_IOCTL_VERSION names it. */
  readonly driver: string;
  /** Creates a buffer of `size` bytes (a multiple of the page size) that the CPU can map; returns its handle. */
  createBuffer(file: AccelFile, size: number): number;
  /** The offset at which mmap(2) of the file maps the buffer `handle`. */
  mmapOffset(file: AccelFile, handle: number): bigint;
  /** The names of the driver's ioctls behind each call, for reports (e.g. "BO_CREATE"). */
  readonly ioctls?: { readonly createBuffer: string; readonly mmapOffset: string };
}

/** An adapter and the module it came from, which child processes import again. */
export interface LoadedAdapter {
  adapter: AccelAdapter;
  module: string;
}

/** A module's `adapter` export that is not an AccelAdapter. */
export class AdapterError extends Error {
  override readonly name = 'AdapterError';
}

function isAdapter(value: unknown): value is AccelAdapter {
  const a = value as Partial<AccelAdapter> | undefined;
  return (
    typeof a === 'object' &&
    a !== null &&
    typeof a.driver === 'string' &&
    typeof a.createBuffer === 'function' &&
    typeof a.mmapOffset === 'function' &&
    (a.ioctls === undefined || (typeof a.ioctls.createBuffer === 'string' && typeof a.ioctls.mmapOffset === 'string'))
  );
}

/** What import() is given for `where`: a URL as it is, a file by its URL, else a package name. */
function specifier(where: string | URL): string {
  if (where instanceof URL || /^[a-z][a-z0-9+.-]*:/.test(where)) return where.toString();
  if (/^\.{0,2}\//.test(where) || existsSync(where)) return pathToFileURL(where).href;
  return where;
}

/**
 * Imports an adapter module (a file path, a URL, or the name of an
 * installed package) and checks its `adapter` export.
 */
export async function loadAdapter(where: string | URL): Promise<LoadedAdapter> {
  const module = specifier(where);
  let exports: { adapter?: unknown };
  try {
    exports = (await import(module)) as { adapter?: unknown };
  } catch (err) {
    throw new AdapterError(`cannot load the adapter module ${module}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!isAdapter(exports.adapter)) {
    throw new AdapterError(
      `${module} exports no adapter: it needs \`export const adapter\` with driver, createBuffer(file, size), mmapOffset(file, handle) and, if any, ioctls { createBuffer, mmapOffset }`,
    );
  }
  return { adapter: exports.adapter, module };
}
