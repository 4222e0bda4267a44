import { describe, expect, test } from 'vitest';
import { classifyConsoleLine, consoleExcerpt } from '../lib/console.js';

describe('guest console classifier', () => {
  test.each([
    ['[    1.234567] Kernel panic - not syncing: Attempted to kill init!', 'panic'],
    ['[    2.000001] BUG: kernel NULL pointer dereference, address: 0000000000000000', 'oops'],
    ['[    2.000002] Oops: general protection fault, probably for non-canonical address', 'oops'],
    ['[   10.5] kernel BUG at drivers/accel/ossa/ossa_job.c:42!', 'oops'],
    ['[    3.1] WARNING: CPU: 0 PID: 1 at drivers/accel/ossa/ossa_drv.c:10 probe+0x1/0x2', 'warning'],
    ['[    3.1] ------------[ cut here ]------------', 'warning'],
    ['[  123.4] INFO: task node:77 blocked for more than 120 seconds.', 'hung-task'],
    ['[   42.1] BUG: KASAN: slab-use-after-free in ossa_job_free+0x2a/0x90 [ossa]', 'finding'],
    ['[   42.2] BUG: sleeping function called from invalid context at mm/slub.c:4116', 'finding'],
    ['[   42.3] ODEBUG: free active (active state 0) object: 0000 object type: timer_list', 'finding'],
    ['[   42.4] DMA-API: ossa 0000:00:03.0: device driver frees DMA memory with wrong function', 'finding'],
    ['[   42.5] UBSAN: shift-out-of-bounds in drivers/accel/ossa/ossa_mmu.c:40:12', 'finding'],
    ['[   42.6] WARNING: possible circular locking dependency detected', 'warning'],
  ])('%s -> %s', (line, kind) => {
    expect(classifyConsoleLine(line)).toBe(kind);
    expect(classifyConsoleLine(`${line}\r`)).toBe(kind);
  });

  test.each([
    '[    0.000000] Linux version 6.12.0 (debian-kernel@lists.debian.org)',
    '[    1.5] [drm] Initialized ossa 0.1.0 for 0000:00:03.0 on minor 0',
    'BUG: this line was printed by a test, not by the kernel',
    '[    5.120235] DMA-API: preallocated 65536 debug entries',
    '[    5.120750] DMA-API: debugging enabled by kernel config',
    'Kernel panic - not syncing: (no printk timestamp, so not the kernel)',
  ])('ordinary: %s', (line) => {
    expect(classifyConsoleLine(line)).toBeUndefined();
  });
});

describe('a guest test’s console excerpt (out/junit.xml)', () => {
  const log = [
    'ossa-test: PASS a.test.js > first',
    '[   10.0] ossa 0000:00:03.0: ossa-q0: job 7 faulted\r',
    'ossa-test: log: a line the test printed',
    'ossa-test: FAIL a.test.js > second',
    '[   11.0] later',
    'ossa-test: PASS a.test.js > third',
  ];

  test('the lines since the previous result, up to its own result line', () => {
    expect(consoleExcerpt(log, 'a.test.js', 'second')).toBe(
      '[   10.0] ossa 0000:00:03.0: ossa-q0: job 7 faulted\nossa-test: log: a line the test printed\nossa-test: FAIL a.test.js > second',
    );
    expect(consoleExcerpt(log, 'a.test.js', 'first')).toBe('ossa-test: PASS a.test.js > first');
  });

  test('a test that never printed its result has none; a long stretch keeps its last 80 lines', () => {
    expect(consoleExcerpt(log, 'a.test.js', 'fourth')).toBeUndefined();
    const long = [...Array.from({ length: 200 }, (_, i) => `[ ${i}] line ${i}`), 'ossa-test: FAIL b.test.js > x'];
    const excerpt = consoleExcerpt(long, 'b.test.js', 'x')?.split('\n') ?? [];
    expect(excerpt).toHaveLength(80);
    expect(excerpt[0]).toBe('[ 121] line 121');
  });
});
