/**
 * Which QEMU sources to build: QEMU 10.0.2 (bookworm-backports, pinned in
 * qemu-device/build-qemu.sh) and the newest QEMU whose orig tarball the
 * archive serves (issue 17). The newest is chosen at build time from sid's
 * source index, newest version first, skipping versions whose tarball the
 * archive lists but does not serve; its SHA-256 comes from that signed
 * index, and build-qemu.sh checks the download against it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from './paths.js';
import { BuildError, log } from './progress.js';
import { poolUrl, sidSourceStanzas, updateSidLists } from './sid.js';

export interface QemuSource {
  /** Upstream version, e.g. 10.2.2. */
  version: string;
  url: string;
  sha256: string;
}

/** Upstream version numbers compared numerically, newest first. */
export function compareVersionsDesc(a: string, b: string): number {
  const pa = a.split(/[.~+-]/).map(Number);
  const pb = b.split(/[.~+-]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** The orig tarballs of `apt-cache showsrc qemu` stanzas. */
export function origTarballs(stanzas: string[]): QemuSource[] {
  const found = new Map<string, QemuSource>();
  for (const stanza of stanzas) {
    const dir = /^Directory: (\S+)$/m.exec(stanza)?.[1];
    const sums = /^Checksums-Sha256:\n((?: .*\n?)*)/m.exec(stanza)?.[1] ?? '';
    if (!dir) continue;
    for (const line of sums.split('\n')) {
      const m = /^ ([0-9a-f]{64}) \d+ (qemu_(\d+(?:\.\d+)+)\+ds\.orig\.tar\.xz)$/.exec(line);
      if (m?.[1] && m[2] && m[3]) found.set(m[3], { version: m[3], url: poolUrl(dir, m[2]), sha256: m[1] });
    }
  }
  return [...found.values()].sort((a, b) => compareVersionsDesc(a.version, b.version));
}

/** Where tarballs found served are recorded: the pool keeps a file until its version leaves the archive. */
function servedRecord(): string {
  return join(cacheDir(), 'qemu-sources-served.json');
}

async function readServed(): Promise<Set<string>> {
  try {
    const v: unknown = JSON.parse(await readFile(servedRecord(), 'utf8'));
    return new Set(Array.isArray(v) ? v.filter((u): u is string => typeof u === 'string') : []);
  } catch {
    return new Set();
  }
}

/**
 * The newest QEMU whose orig tarball is served: $OSSA_NEWEST_QEMU (a
 * version the index lists) when set, else the highest version in sid's
 * index that answers a HEAD request. A tarball found served before is not
 * asked about again, so a rerun needs the network only for versions newer
 * than it, and tries those each time: a newer tarball is picked up as soon
 * as the archive serves it.
 */
export async function selectNewestQemu(): Promise<QemuSource> {
  await updateSidLists();
  const listed = origTarballs(await sidSourceStanzas('qemu'));
  const forced = process.env.OSSA_NEWEST_QEMU;
  const candidates = forced ? listed.filter((s) => s.version === forced) : listed;
  if (!candidates.length) {
    throw new BuildError(
      forced ? `OSSA_NEWEST_QEMU=${forced}: sid's source index lists no orig tarball of that version (it lists ${listed.map((s) => s.version).join(', ') || 'none'})` : "sid's source index lists no qemu orig tarball",
    );
  }
  const served = await readServed();
  for (const source of candidates) {
    if (served.has(source.url)) return source;
    const res = await fetch(source.url, { method: 'HEAD' }).catch((err: unknown) => err as Error);
    if (!(res instanceof Error) && res.ok) {
      await mkdir(cacheDir(), { recursive: true });
      await writeFile(servedRecord(), `${JSON.stringify([...served, source.url], null, 2)}\n`);
      return source;
    }
    log(`qemu (newest): ${source.version} is listed but its tarball is not served (${res instanceof Error ? res.message : res.status}); trying the next`);
  }
  throw new BuildError(`no listed QEMU orig tarball is served (tried ${candidates.map((s) => s.version).join(', ')})`);
}
