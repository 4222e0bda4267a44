/**
 * What the guest is doing when the suite has gone silent: every thread's
 * scheduler state, CPU time, wait channel, current system call and kernel
 * stack, read from /proc, plus the kernel's own dumps (sysrq w and l).
 * Taken twice, some seconds apart, so that a thread spinning (CPU time
 * growing) is told apart from one asleep.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** One line per thread of every process, with its kernel stack. */
export function threadSnapshot(): string {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const cmdline = read(`/proc/${pid}/cmdline`).replaceAll('\0', ' ').slice(0, 100);
    // Kernel threads have no command line: leave them to sysrq.
    if (cmdline === '' || cmdline === '?') continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    lines.push(`pid ${pid}: ${cmdline}`);
    for (const tid of tids) {
      const dir = `/proc/${pid}/task/${tid}`;
      // stat: "tid (comm) state ... utime(14) stime(15)"; comm may hold spaces.
      const stat = read(`${dir}/stat`);
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, utime, stime] = [after[0], after[11], after[12]];
      lines.push(
        `  tid ${tid} (${comm}) ${state} utime ${utime} stime ${stime} wchan ${read(`${dir}/wchan`)} syscall ${read(`${dir}/syscall`)}`,
      );
      if (state !== 'S' || read(`${dir}/wchan`) !== 'do_epoll_wait') {
        for (const frame of read(`${dir}/stack`).split('\n')) lines.push(`      ${frame}`);
      }
    }
  }
  return lines.join('\n');
}

/** Writes two snapshots 5 s apart and the kernel's dumps to the console. */
export async function dumpHang(reason: string): Promise<void> {
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  out(`ossa-runner: ${reason}; dumping every thread twice, 5 s apart, then sysrq w and l`);
  out(threadSnapshot());
  await new Promise((resolve) => setTimeout(resolve, 5000));
  out('ossa-runner: 5 s later');
  out(threadSnapshot());
  for (const key of ['w', 'l']) {
    try {
      writeFileSync('/proc/sysrq-trigger', key);
    } catch {
      // no sysrq: nothing to dump
    }
  }
}
