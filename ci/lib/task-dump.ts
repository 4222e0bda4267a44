/**
 * A guest kernel's task dump (Magic SysRq t and w, as vm.ts asks for it
 * when a guest stops answering) read back into the few lines a failure
 * message can carry: which tasks were where. A CI engine shows the
 * failure message; the console log with the whole dump may be out of
 * reach.
 */

/** One task of the dump: what sched_show_task() printed for it. */
export interface DumpedTask {
  name: string;
  /** The state letter: R, S, D, I, T, ... */
  state: string;
  pid: number;
  ppid: number;
  /** Its kernel stack, innermost first, without the '?' guesses. */
  frames: string[];
}

/** `task:COMM(15 wide) state:X stack:N pid:N tgid:N ppid:N flags:...` */
const TASK_LINE = /task:(.{15}) state:(\S)\s.*?\bpid:\s*(\d+)\s.*?\bppid:\s*(\d+)/;
const FRAME_LINE = /^\s*([\w.]+)\+0x[0-9a-f]+\/0x[0-9a-f]+/;
const TIMESTAMP = /^\[\s*\d+\.\d+\]\s?/;

/**
 * Frames that say only that a task sleeps, or how it entered the kernel:
 * not where it waits.
 */
const PLUMBING = /^(__schedule|schedule|schedule_preempt_disabled|schedule_timeout|schedule_hrtimeout_range(_clock)?|io_schedule|do_syscall_64|x64_sys_call|entry_SYSCALL_64_after_hwframe|__x64_sys_\w+|ret_from_fork(_asm)?|kthread)$/;

/** The tasks of the dump text, each once, in the order first seen. */
export function parseTaskDump(lines: readonly string[]): DumpedTask[] {
  const tasks = new Map<number, DumpedTask>();
  let current: DumpedTask | undefined;
  for (const raw of lines) {
    const line = raw.replace(TIMESTAMP, '');
    const t = TASK_LINE.exec(line);
    if (t) {
      const pid = Number(t[3]);
      // The blocked-task dump repeats tasks of the full one: the first stack is kept.
      current = tasks.has(pid) ? undefined : { name: t[1]!.trim(), state: t[2]!, pid, ppid: Number(t[4]), frames: [] };
      if (current) tasks.set(pid, current);
      continue;
    }
    // A task's stack ends with </TASK>: lines after it (another CPU's,
    // or the next task's header cut by one) are not its frames.
    if (/^sysrq: |^\s*<\/TASK>/.test(line)) {
      current = undefined;
      continue;
    }
    if (!current || /^\s*\?/.test(line)) continue;
    const f = FRAME_LINE.exec(line);
    if (f) current.frames.push(f[1]!);
  }
  return [...tasks.values()];
}

/** A kernel thread: kthreadd itself, or one of its children. */
const isKernelThread = (t: DumpedTask): boolean => t.pid === 2 || t.ppid === 2;
/** Stacks that pass through the driver or the DRM core. */
const inDriver = (t: DumpedTask): boolean => t.frames.some((f) => /^(ossa_|drm_|dma_fence|dma_resv)/.test(f));

/**
 * Where a task waits, from its kernel stack (innermost first): its
 * innermost @depth frames past the scheduler's own and the system call
 * entry. Also read by the guest suite from /proc/PID/stack.
 */
export function whereInKernel(frames: readonly string[], depth = 4): string {
  const own = frames.filter((f) => !PLUMBING.test(f));
  return own.length ? own.slice(0, depth).join(' < ') : 'no kernel stack';
}

/**
 * The dump in one line per task that matters: every task in
 * uninterruptible sleep (D), every task whose stack passes through the
 * driver or the DRM core, then every other user-space task; kernel
 * threads at rest are left out. At most @max tasks; the rest are counted.
 */
export function summariseTaskDump(lines: readonly string[], max = 16): string[] {
  const tasks = parseTaskDump(lines);
  const rank = (t: DumpedTask): number => (t.state === 'D' ? 0 : inDriver(t) ? 1 : isKernelThread(t) ? 3 : 2);
  const shown = tasks.filter((t) => rank(t) < 3).sort((a, b) => rank(a) - rank(b));
  const out = shown.slice(0, max).map((t) => `${t.name}[${t.pid}] ${t.state}: ${whereInKernel(t.frames)}`);
  if (shown.length > max) out.push(`and ${shown.length - max} more (console log)`);
  return out;
}
