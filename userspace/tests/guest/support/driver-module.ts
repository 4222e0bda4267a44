/**
 * The driver as a module: unloading it and loading it again with
 * parameters. No file of the device may be open across a reload, and the
 * guest suite runs one file at a time (ci/guest/runner.ts), so a file that
 * reloads owns the device until it loads the defaults again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { until } from './debugfs.js';
import { ossaNode } from './ossa.js';

/** The driver's module file, as the image's /init loads it (/etc/ossa/modules). */
function moduleFile(): string | undefined {
  if (!existsSync('/etc/ossa/modules')) return undefined;
  const name = readFileSync('/etc/ossa/modules', 'utf8')
    .split('\n')
    .find((m) => /(^|\/)ossa\.ko$/.test(m));
  return name ? `/lib/modules/${name}` : undefined;
}

export const MODULE = moduleFile();
/** Why a file that reloads the driver is skipped, or undefined when it can run. */
export const NO_MODULE = MODULE ? undefined : 'the driver is not a module loaded from /etc/ossa/modules (not the project image)';
export const JOB_TIMEOUT_PARAM = '/sys/module/ossa/parameters/job_timeout_ms';
/** The driver's default job_timeout_ms (kernel-driver/ossa_job.c). */
export const DEFAULT_JOB_TIMEOUT_MS = 2000;

export type RunResult = { ok: true } | { ok: false; message: string };

function run(cmd: string, args: string[]): RunResult {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return { ok: true };
  } catch (err) {
    const e = err as { status?: number; stderr?: Buffer };
    return { ok: false, message: `exit ${e.status}: ${e.stderr?.toString().trim()}` };
  }
}

/** Unloads the driver (its node goes) and loads it with `params`. */
export async function reloadDriver(params: string[]): Promise<RunResult> {
  if (!MODULE) throw new Error(`cannot reload the driver: ${NO_MODULE}`);
  if (existsSync('/sys/module/ossa')) expect(run('rmmod', ['ossa'])).toEqual({ ok: true });
  const loaded = run('insmod', [MODULE, ...params]);
  if (loaded.ok) expect(await until(() => existsSync(ossaNode()), 5000), 'the node is back').toBe(true);
  return loaded;
}

/** Loads the driver with its defaults again unless it already runs with them. */
export async function restoreDriverDefaults(): Promise<void> {
  const current = existsSync(JOB_TIMEOUT_PARAM) ? readFileSync(JOB_TIMEOUT_PARAM, 'utf8').trim() : undefined;
  if (current !== String(DEFAULT_JOB_TIMEOUT_MS)) expect(await reloadDriver([])).toEqual({ ok: true });
}
