import { describe, expect, test } from 'vitest';
import { coverageMatrix, covers, TRACE_OVERFLOW } from '../lib/coverage.js';
import { parseIoctlTrace } from '../../userspace/tests/guest/support/ioctl-trace.js';

// As the kernel prints syscall events (kernel/trace/trace_syscalls.c).
const TRACE = `# tracer: nop
#
# entries-in-buffer/entries-written: 9/9   #P:2
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
            node-210     [001] .....    41.100001: sys_ioctl(fd: 13, cmd: c0206444, arg: 7ffd5c3a1b20)
     libuv-worker-214     [000] .....    41.100002: sys_ioctl(fd: 13, cmd: c0306445, arg: 7f0012345678)
            node-210     [001] .....    41.100003: sys_ioctl -> 0x0
            node-210     [001] .....    41.100004: sys_ioctl(fd: 13, cmd: c0206444, arg: 7ffd5c3a1b20)
            node-210     [001] .....    41.100005: sys_ioctl -> 0xffffffffffffffea
            node-210     [001] .....    41.100006: sys_ioctl(fd: 1, cmd: 5401, arg: 7ffd5c3a1b20)
            node-210     [001] .....    41.100007: sys_ioctl -> 0xffffffffffffffe7
     libuv-worker-214     [000] .....    41.100008: sys_ioctl -> 0xffffffffffffff92
            node-210     [001] .....    41.100009: sys_ioctl(fd: 13, cmd: c01064c3, arg: 7ffd5c3a1b20)
`;

describe('ioctl trace of a guest test', () => {
  test('counts DRM ioctls by name with their errnos, pairing enter and exit per thread; other ioctls are ignored', () => {
    expect(parseIoctlTrace(TRACE)).toEqual({
      SUBMIT: { calls: 2, ok: 1, errors: { EINVAL: 1 } },
      BO_WAIT: { calls: 1, ok: 0, errors: { ETIMEDOUT: 1 } },
      // Still running when the test ended: a call without a result.
      SYNCOBJ_WAIT: { calls: 1, ok: 0, errors: {} },
    });
  });

  test('Linux 7.x prints the arguments with 0x: the same calls are counted', () => {
    const prefixed = TRACE.replace(/sys_ioctl\(fd: (\w+), cmd: (\w+), arg: (\w+)\)/g, 'sys_ioctl(fd: 0x$1, cmd: 0x$2, arg: 0x$3)');
    expect(prefixed).toContain('sys_ioctl(fd: 0x13, cmd: 0xc0206444, arg: 0x7ffd5c3a1b20)');
    expect(parseIoctlTrace(prefixed)).toEqual(parseIoctlTrace(TRACE));
  });

  test('a sys_ioctl line of another format is an error, not a call that never happened', () => {
    expect(() => parseIoctlTrace(TRACE.replace('sys_ioctl(fd: 13, cmd: c0306445', 'sys_ioctl(fd=13 cmd=c0306445'))).toThrow(/a sys_ioctl line of a format this parser does not know/);
  });

  test('a trace that overwrote entries says so', () => {
    const lost = TRACE.replace('9/9', '9/15');
    expect(parseIoctlTrace(lost)[TRACE_OVERFLOW]).toBeDefined();
  });
});

describe('coverage matrix from recorded calls', () => {
  const ok = { calls: 1, ok: 1, errors: {} };
  test('a claimed ioctl the test never issued does not count and is listed', () => {
    const m = coverageMatrix([
      { name: covers(['SUBMIT', 'BO_WAIT'], 'good', 'a job'), state: 'pass', ioctls: { SUBMIT: ok } },
      { name: covers('GET_PARAM', 'bad-input', 'no record'), state: 'pass' },
    ]);
    expect(m.cells.SUBMIT?.good?.total).toBe(1);
    expect(m.cells.BO_WAIT?.good?.total).toBe(0);
    expect(m.cells['GET_PARAM']?.['bad-input']?.total).toBe(0);
    expect(m.unobserved).toEqual([
      { test: '[SUBMIT,BO_WAIT/good] a job', row: 'BO_WAIT', why: 'never issued it' },
      { test: '[GET_PARAM/bad-input] no record', row: 'GET_PARAM', why: 'no record of its ioctls' },
    ]);
  });

  test('a bad-input claim counts only when the ioctl refused a call', () => {
    const m = coverageMatrix([
      { name: covers('SUBMIT', 'bad-input', 'accepted'), state: 'pass', ioctls: { SUBMIT: { calls: 2, ok: 2, errors: {} } } },
      { name: covers('SUBMIT', 'bad-input', 'refused'), state: 'pass', ioctls: { SUBMIT: { calls: 2, ok: 1, errors: { EINVAL: 1 } } } },
    ]);
    expect(m.cells.SUBMIT?.['bad-input']?.total).toBe(1);
    expect(m.unobserved).toEqual([
      { test: '[SUBMIT/bad-input] accepted', row: 'SUBMIT', why: 'claims bad input, but every call of it succeeded' },
    ]);
  });

  test('command rows count the claim: commands travel inside SUBMIT', () => {
    const m = coverageMatrix([{ name: covers(['SUBMIT', 'COPY'], 'good', 'copy'), state: 'pass', ioctls: { SUBMIT: ok } }]);
    expect(m.cells.COPY?.good?.total).toBe(1);
    expect(m.unobserved).toEqual([]);
  });
});
