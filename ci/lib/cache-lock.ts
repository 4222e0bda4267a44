/**
 * Locks in the shared build cache: several clones (and CI jobs) use one
 * cache folder, so a build of an entry, or of a work tree that several
 * entries share (qemu-work), runs under a lock. Another process that wants
 * the same lock waits, and then finds the entry built.
 *
 * The lock is the kernel's: flock(1) holds an exclusive flock(2) on the lock
 * file for as long as its stdin, a pipe from this process, is open. When
 * this process ends in any way, killed included, the pipe closes and the
 * kernel drops the lock: no stale lock is ever left to clean up. The file
 * says who holds it, for the message of a process that waits.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { log } from './progress.js';

/** After this long without the lock, say whom we wait for. */
const QUIET_WAIT_MS = 1000;

async function holderOf(path: string): Promise<string> {
  try {
    const h = JSON.parse(await readFile(path, 'utf8')) as { pid?: number; host?: string; since?: string; what?: string };
    return `process ${h.pid ?? '?'} on ${h.host ?? '?'}, ${h.what ?? '?'} since ${h.since ?? '?'}`;
  } catch {
    return 'a process that has not said who it is';
  }
}

/**
 * Takes the lock at `path` (waiting while another process holds it) and
 * returns its release. `what` names the work in messages.
 */
export async function acquireLock(path: string, what: string): Promise<() => Promise<void>> {
  const child = spawn('flock', ['--exclusive', path, 'sh', '-c', 'echo locked; read -r _'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('error', (err) => reject(new Error(`flock ${path}: ${err.message}`)));
    void exited.then((code) => reject(new Error(`flock ${path} exited with ${code} before it held the lock`)));
  });
  const timer = setTimeout(() => {
    void holderOf(path).then((holder) => log(`${what}: waiting for the lock ${path}, held by ${holder}`));
  }, QUIET_WAIT_MS);
  try {
    await locked;
  } catch (err) {
    child.kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  await writeFile(path, `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), what })}\n`);
  return async () => {
    child.stdin.end();
    await exited;
  };
}
