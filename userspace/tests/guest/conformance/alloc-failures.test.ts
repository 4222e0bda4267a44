/**
 * Tier 2, ossa: every kernel allocation on each ioctl path fails once
 * (debug kernel: CONFIG_FAULT_INJECTION, /proc/thread-self/fail-nth with
 * failslab and fail_page_alloc). tools/alloc-sweep.c arms the N-th
 * injection point right before the one call under test, for N = 1, 2, ...
 * until the call no longer reaches an N-th point. Each injected failure
 * must give a clean errno, leave the file usable and, for SUBMIT, run no
 * job; after the sweep the driver's objects are back to their count and
 * kmemleak finds nothing (checked here after its 5 s delay, and by the
 * suite's setup after every file).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { covers, type Row } from '../../../../ci/lib/coverage.js';
import { liveObjects, until } from '../support/debugfs.js';
import { kmemleakAvailable, kmemleakScan } from '../support/kmemleak.js';
import { ossaNode } from '../support/ossa.js';
import { LONG_TOOL_TEST_TIMEOUT_MS, LONG_TOOL_TIMEOUT_MS, runTool } from '../support/tool.js';

const SWEEP = '/ossa/tools/alloc-sweep';
const FAIL_NTH = '/proc/thread-self/fail-nth';
const FAILSLAB = '/sys/kernel/debug/failslab';
const FAIL_PAGE_ALLOC = '/sys/kernel/debug/fail_page_alloc';
const available = existsSync(FAIL_NTH) && existsSync(FAILSLAB) && existsSync(FAIL_PAGE_ALLOC) && existsSync(SWEEP);
const WHY_SKIPPED = 'needs a kernel with CONFIG_FAULT_INJECTION, FAILSLAB and FAIL_PAGE_ALLOC (the debug kernel)';

interface SweepResult {
  path: string;
  points: number;
  capped: boolean;
  results: Array<{ n: number; injected: boolean; ret: number; errno?: string }>;
  unusable: number[];
  wrong: Array<{ n: number; what: string }>;
}

/** Lets fail-nth fail the sleeping (GFP_KERNEL) allocations too, quietly. */
function armInjection(on: boolean): void {
  for (const dir of [FAILSLAB, FAIL_PAGE_ALLOC]) {
    writeFileSync(`${dir}/ignore-gfp-wait`, on ? 'N' : 'Y');
    writeFileSync(`${dir}/verbose`, on ? '0' : '2');
  }
  writeFileSync(`${FAIL_PAGE_ALLOC}/ignore-gfp-highmem`, on ? 'N' : 'Y');
  writeFileSync(`${FAIL_PAGE_ALLOC}/min-order`, '0');
}

async function sweep(path: string): Promise<SweepResult> {
  // The tool opens its own files; none of this process stays open meanwhile.
  // One path's sweep on the debug kernel under TCG takes up to 40 s.
  const { stdout } = await runTool(SWEEP, [ossaNode(), path], { timeoutMs: LONG_TOOL_TIMEOUT_MS });
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as SweepResult);
  const result = lines.find((l) => l.path === path);
  if (!result) throw new Error(`alloc-sweep printed no result for ${path}: ${stdout.slice(0, 500)}`);
  return result;
}

/**
 * rows: the ioctl under test, for the coverage matrix; none for open(2) and
 * close(2). The tool's probe path is not swept here: see alloc-sweep.c.
 */
const PATHS: ReadonlyArray<{ path: string; rows: Row[]; what: string }> = [
  { path: 'open', rows: [], what: 'open(2) of the accel node' },
  { path: 'close', rows: [], what: 'close(2) of a file with buffers, syncobjs and a finished job' },
  { path: 'bo-create', rows: ['BO_CREATE'], what: 'BO_CREATE' },
  { path: 'submit', rows: ['SUBMIT'], what: 'SUBMIT of three jobs with in- and out-syncobjs (a timeline point among them) and several buffers (all or nothing: no job of a failed SUBMIT runs)' },
  { path: 'bo-wait', rows: ['BO_WAIT'], what: 'BO_WAIT on a buffer a job is writing' },
  { path: 'prime-export', rows: ['PRIME_HANDLE_TO_FD'], what: 'PRIME export' },
  { path: 'prime-import', rows: ['PRIME_FD_TO_HANDLE'], what: 'PRIME import from another file' },
  { path: 'prime-import-udmabuf', rows: ['PRIME_FD_TO_HANDLE'], what: 'PRIME import of a dma-buf of another exporter (udmabuf)' },
  { path: 'syncobj-create', rows: ['SYNCOBJ_CREATE'], what: 'SYNCOBJ_CREATE' },
];

/** Everything wrong with one path's sweep, as readable lines; empty when all is well. */
function problems(r: SweepResult, before: ReturnType<typeof liveObjects>, after: ReturnType<typeof liveObjects>): string[] {
  const out: string[] = [];
  if (r.capped) out.push(`the sweep hit its cap at ${r.points} points`);
  for (const x of r.results) {
    if (x.injected && x.ret < 0 && x.errno !== 'ENOMEM') out.push(`n=${x.n}: an injected allocation failure returned ${x.ret} (${x.errno ?? '?'}), not ENOMEM`);
  }
  for (const n of r.unusable) out.push(`n=${n}: the file could not run a job afterwards`);
  for (const w of r.wrong) out.push(`n=${w.n}: ${w.what}`);
  if (JSON.stringify(after) !== JSON.stringify(before)) out.push(`driver objects ${JSON.stringify(after)}, were ${JSON.stringify(before)}`);
  return out;
}

describe('allocation failures on every ioctl path (fail-nth)', () => {
  beforeAll(() => {
    if (available) armInjection(true);
  });
  afterAll(() => {
    if (available) armInjection(false);
  });

  for (const { path, rows, what } of PATHS) {
    const name = `each allocation of ${what} fails once: clean errno, nothing left behind, file usable`;
    test(rows.length ? covers(rows, 'fault', name) : name, { timeout: LONG_TOOL_TEST_TIMEOUT_MS }, async (ctx) => {
      if (!available) ctx.skip(WHY_SKIPPED);
      const before = liveObjects();
      const r = await sweep(path);
      const injected = r.results.filter((x) => x.injected).length;
      process.stdout.write(`alloc-sweep ${path}: ${r.points} injection points, ${injected} failures injected\n`);
      await until(() => JSON.stringify(liveObjects()) === JSON.stringify(before), 10_000);
      expect(problems(r, before, liveObjects()).join('\n')).toBe('');
      // BO_WAIT allocates nothing; every other path must reach at least one point.
      if (path !== 'bo-wait') expect(r.points, 'injection points on the path').toBeGreaterThan(0);
    });
  }

  test('kmemleak finds nothing once the sweeps\' objects are 5 s old', async (ctx) => {
    if (!available || !kmemleakAvailable()) ctx.skip(WHY_SKIPPED);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(kmemleakScan()).toBe('');
  });
});
