/**
 * Migration of a whole QEMU through a file (QMP `migrate` to a `file:` URI;
 * the destination started with `-incoming defer` and given the file with
 * `migrate-incoming`), and a way to alter one field of a saved stream for
 * testing what the destination refuses.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../ci/lib/qmp.js';
import { type QemuOptions, QTest } from './qtest.js';

/** Polls of query-migrate, 10 ms apart, before giving up. */
const MIGRATION_POLLS = 2000;

export interface MigrationStatus {
  status: string;
  errorDesc?: string;
}

async function migrationStatus(qt: QTest): Promise<MigrationStatus> {
  const r = (await qt.qmp.execute('query-migrate')) as JsonObject;
  const status = typeof r.status === 'string' ? r.status : 'none';
  const errorDesc = typeof r['error-desc'] === 'string' ? r['error-desc'] : undefined;
  return errorDesc === undefined ? { status } : { status, errorDesc };
}

/** Polls query-migrate until the migration (outgoing or incoming) completes or fails. */
export async function waitMigration(qt: QTest): Promise<MigrationStatus> {
  for (let i = 0; i < MIGRATION_POLLS; i += 1) {
    const st = await migrationStatus(qt);
    if (st.status === 'completed' || st.status === 'failed' || st.status === 'cancelled') return st;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`migration did not end: ${JSON.stringify(await migrationStatus(qt))}`);
}

/** A folder for migration streams, removed by `dispose`. */
export class StreamDir implements AsyncDisposable {
  private constructor(readonly dir: string) {}

  static async create(): Promise<StreamDir> {
    return new StreamDir(await mkdtemp(join(tmpdir(), 'ossa-migration-')));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Saves the whole machine to `file`; the source stays paused afterwards (postmigrate). */
export async function saveTo(src: QTest, file: string): Promise<void> {
  await src.qmp.execute('migrate', { uri: `file:${file}` });
  const st = await waitMigration(src);
  if (st.status !== 'completed') throw new Error(`outgoing migration ${st.status}: ${st.errorDesc ?? ''}`);
}

/** A QEMU like the source (same options) waiting for an incoming migration. */
export async function startDestination(opts: QemuOptions = {}): Promise<QTest> {
  return QTest.start({ ...opts, extraArgs: [...(opts.extraArgs ?? []), '-incoming', 'defer'] });
}

/** Loads `file` into a destination; a failed load leaves QEMU running (exit-on-error off). */
export async function loadFrom(dst: QTest, file: string): Promise<MigrationStatus> {
  await dst.qmp.execute('migrate-incoming', { uri: `file:${file}`, 'exit-on-error': false });
  return waitMigration(dst);
}

/**
 * Rewrites `file` with the one occurrence of `find` replaced by `replace`
 * (same length): a field of a device's saved state, found by values around
 * it that the test made unique. Throws unless `find` occurs exactly once.
 */
export async function patchStream(file: string, find: Buffer, replace: Buffer): Promise<void> {
  if (find.length !== replace.length) throw new RangeError('patchStream: lengths differ');
  const data = await readFile(file);
  const at = data.indexOf(find);
  if (at < 0) throw new Error(`patchStream: ${find.toString('hex')} not in the stream`);
  if (data.indexOf(find, at + 1) >= 0) throw new Error(`patchStream: ${find.toString('hex')} occurs more than once`);
  replace.copy(data, at);
  await writeFile(file, data);
}

/** Big-endian bytes of the values, as QEMU's VMState writes integers: [value, bytes]. */
export function beBytes(...fields: Array<[bigint | number, 1 | 4 | 8]>): Buffer {
  return Buffer.concat(
    fields.map(([v, n]) => {
      const b = Buffer.alloc(n);
      if (n === 8) b.writeBigUInt64BE(BigInt(v));
      else if (n === 4) b.writeUInt32BE(Number(v) >>> 0);
      else b.writeUInt8(Number(v));
      return b;
    }),
  );
}
