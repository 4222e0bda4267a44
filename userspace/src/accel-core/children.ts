/**
 * Several Node.js processes running one script at the same time, for the
 * concurrency tests. Each writes JSON lines (reports) on stdout: its first
 * one says it is ready (and may carry what it opened, which it holds); once
 * every child is ready, the parent releases them all at once (a start
 * barrier), and each child's last report is its result. Each must exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * What every child script can use: `id` (0, 1, ...), `report(value)` (one
 * JSON line; bigints as strings) and `released()` (resolves when the
 * parent releases the children, once every one has reported at least
 * once). A caller's own prelude (ChildrenOptions.prelude) follows.
 */
const PRELUDE = `
const id = Number(process.env.ACCEL_CHILD);
const report = (v) => process.stdout.write(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) + '\\n');
const released = () => new Promise((resolve) => { process.stdin.on('end', resolve); process.stdin.resume(); });
`;

export interface ChildrenOptions {
  /** Fds each child gets as its fds 3, 4, ... */
  fds?: readonly number[];
  /**
   * Runs with each child's first report once every child has made one,
   * while those that await released() still hold what they opened; then
   * the children are released.
   */
  whileHeld?: (first: unknown[]) => void | Promise<void>;
  /** More of the script's prelude (e.g. its imports), after the common one. */
  prelude?: string;
  /** More environment for the children. */
  env?: Record<string, string>;
  /** Kills the children, and rejects, when aborted. */
  signal?: AbortSignal;
}

/**
 * Starts `count` processes of `script` (an ES module body, after the
 * prelude above) at once; resolves with each child's last report, in
 * child order, once all have exited 0. Rejects, and kills the others,
 * when one exits otherwise or before reporting.
 */
export async function runChildren(script: string, count: number, options: ChildrenOptions = {}): Promise<unknown[]> {
  const env = { ...process.env, ...options.env };
  const children: ChildProcess[] = [];
  const stderr: string[] = [];
  const done: Array<Promise<unknown>> = [];
  const reported: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', PRELUDE + (options.prelude ?? '') + script], {
      env: { ...env, ACCEL_CHILD: String(i) },
      stdio: ['pipe', 'pipe', 'pipe', ...(options.fds ?? [])],
    });
    children.push(child);
    stderr[i] = '';
    child.stdin?.on('error', () => {}); // a child that exits without reading stdin
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr[i] += d));
    // 'close': the process has exited and its stdout is read to the end.
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(signal ? null : code));
    });
    let out = '';
    const lines = (): unknown[] => out.split('\n').slice(0, -1).map((l) => JSON.parse(l) as unknown);
    const report = new Promise<unknown>((resolve, reject) => {
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (!out.includes('\n')) return;
        try {
          resolve(lines()[0]);
        } catch (err) {
          reject(new Error(`child ${i} wrote no JSON: ${out}`, { cause: err }));
        }
      });
      void exited.then((code) => reject(new Error(`child ${i} exited (${code}) before it reported: ${stderr[i]}`)), reject);
    });
    report.catch(() => {});
    reported.push(report);
    const ok = exited.then((code) => {
      if (code !== 0) throw new Error(`child ${i} exited with ${code}: ${stderr[i]}`);
      return lines().at(-1);
    });
    ok.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    done.push(ok);
  }
  const abort = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) abort();
  try {
    await options.whileHeld?.(await Promise.all(reported));
    for (const c of children) c.stdin?.end();
    return await Promise.all(done);
  } catch (err) {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.allSettled(done);
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}
