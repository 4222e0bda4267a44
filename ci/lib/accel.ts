/**
 * Choosing the guest's accelerator: KVM where it works, else TCG, and why.
 *
 * KVM is used only when each of these holds, checked in this order, and the
 * first that fails is named:
 * - the QEMU binary has the KVM accelerator (`-accel help` lists kvm);
 * - /dev/kvm exists;
 * - this user may open it read-write (not: group kvm missing, or a
 *   container given the node but not the device);
 * - a probe guest boots under KVM to userspace (not: nested virtualisation
 *   off, a broken or foreign hypervisor, QEMU refusing the host's CPU).
 * The probe boot's verdict is kept for the current host boot (by boot id),
 * QEMU and kernel, so it costs one boot at most.
 */
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from './paths.js';
import { log } from './progress.js';
import type { Accel } from './vm.js';

const PROBE_TIMEOUT_MS = 20_000;
const PROBE_MARKER = 'ossa-probe: userspace reached';
export const KVM_DEVICE = '/dev/kvm';

/** Why KVM is or is not used: each case the probe tells apart. */
export type KvmVerdict =
  | { kind: 'works'; seconds: number }
  | { kind: 'qemu-without-kvm'; qemu: string; accelerators: string[] }
  | { kind: 'no-device'; device: string }
  | { kind: 'no-permission'; device: string; code: string }
  | { kind: 'not-allowed'; device: string; code: string }
  | { kind: 'cannot-open'; device: string; code: string }
  /** `timedOut`: the guest was still booting at the probe's deadline (a busy host, not only a broken KVM). */
  | { kind: 'broken'; detail: string; timedOut: boolean };

/** The accelerators `qemu -accel help` lists. */
export function parseAccelHelp(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trim());
  const head = lines.findIndex((l) => /^Accelerators supported in QEMU binary:$/.test(l));
  if (head < 0) throw new Error(`-accel help printed no accelerator list: ${text.trim().slice(0, 200)}`);
  return lines.slice(head + 1).filter((l) => /^[a-z][a-z0-9_-]*$/.test(l));
}

export async function qemuAccelerators(qemu: string): Promise<string[]> {
  const r = await execa(qemu, ['-accel', 'help'], { reject: false, all: true, stdin: 'ignore', timeout: 20_000 });
  if (r.exitCode !== 0) throw new Error(`${qemu} -accel help failed (${r.exitCode ?? r.signal}): ${String(r.all).trim().slice(0, 200)}`);
  return parseAccelHelp(String(r.all));
}

/** Whether this process may open `device` read-write, as QEMU will; the errno code if not. */
export function openDevice(device: string): { ok: true } | { ok: false; code: string } {
  try {
    closeSync(openSync(device, constants.O_RDWR));
    return { ok: true };
  } catch (err) {
    return { ok: false, code: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

/** The verdict for the device alone (undefined: it opens, a probe boot decides). */
export function deviceVerdict(device: string): KvmVerdict | undefined {
  const open = openDevice(device);
  if (open.ok) return undefined;
  if (open.code === 'ENOENT' || open.code === 'ENXIO' || open.code === 'ENODEV') return { kind: 'no-device', device };
  if (open.code === 'EACCES') return { kind: 'no-permission', device, code: open.code };
  // A device cgroup refuses it: a container given the node without the device (-v, not --device).
  if (open.code === 'EPERM') return { kind: 'not-allowed', device, code: open.code };
  return { kind: 'cannot-open', device, code: open.code };
}

/** What QEMU said that explains a failed probe boot: its own error lines, else the end of its output. */
export function probeFailureDetail(output: string, timedOut: boolean, exit: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const own = lines.filter((l) => /^qemu-system-\w+: /.test(l) || /^error:|KVM|kvm/.test(l));
  const said = (own.length ? own : lines.slice(-3)).slice(0, 3).join(' | ');
  const how = timedOut ? `no userspace within ${PROBE_TIMEOUT_MS / 1000} s` : `QEMU exited with ${exit} before userspace`;
  return said ? `${how}: ${said}` : how;
}

/** One line for the log: which accelerator and why. */
export function verdictMessage(v: KvmVerdict): string {
  switch (v.kind) {
    case 'works':
      return `KVM: a probe guest booted under KVM in ${v.seconds.toFixed(1)} s`;
    case 'qemu-without-kvm':
      return `TCG: QEMU without KVM (${v.qemu} -accel help lists ${v.accelerators.join(', ') || 'nothing'}; configure it with --enable-kvm)`;
    case 'no-device':
      return `TCG: no ${v.device} (no KVM on this host, or a container started without --device ${v.device})`;
    case 'no-permission':
      return `TCG: no permission to open ${v.device} read-write (${v.code}; add the user to the device's group, usually kvm)`;
    case 'not-allowed':
      return `TCG: ${v.device} may not be opened here (${v.code}: a device cgroup refuses it; start the container with --device ${v.device})`;
    case 'cannot-open':
      return `TCG: ${v.device} does not open (${v.code})`;
    case 'broken':
      return `TCG: KVM broken: a probe guest did not boot under KVM (${v.detail})`;
  }
}

async function probeBoot(qemu: string, kernel: string, initrd: string): Promise<KvmVerdict> {
  const start = performance.now();
  const result = await execa(
    qemu,
    [
      '-L', '/usr/share/seabios', '-L', '/usr/share/qemu',
      '-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-m', '512M',
      '-nodefaults', '-display', 'none', '-vga', 'none', '-no-reboot', '-nic', 'none',
      '-serial', 'stdio', '-kernel', kernel, '-initrd', initrd,
      '-append', 'console=ttyS0 panic=-1 quiet',
    ],
    { stdin: 'ignore', reject: false, timeout: PROBE_TIMEOUT_MS, all: true },
  );
  const output = String(result.all ?? '');
  if (!result.timedOut && result.exitCode === 0 && output.includes(PROBE_MARKER)) {
    return { kind: 'works', seconds: (performance.now() - start) / 1000 };
  }
  return { kind: 'broken', detail: probeFailureDetail(output, result.timedOut, String(result.exitCode ?? result.signal)), timedOut: result.timedOut };
}

/**
 * Whether a probe boot's verdict is kept for the rest of the host boot: a
 * guest that booted, or one that failed; not one that ran out of time,
 * which a busy host can cause (the next run probes again).
 */
export function keepsVerdict(v: KvmVerdict): boolean {
  return v.kind === 'works' || (v.kind === 'broken' && !v.timedOut);
}

/** The key a probe boot's verdict is kept under: the QEMU build and the kernel it boots. */
export function probeKey(m: { keys: Readonly<Record<string, string>>; kernelRelease: string }): string {
  return `${m.keys.qemu ?? "(no qemu)"} ${m.kernelRelease}`;
}

/**
 * The probe boot's verdict, kept per host boot under `key` (the QEMU and
 * kernel); with `fresh`, probed again whatever is kept, and kept anew.
 */
async function cachedProbeBoot(qemu: string, kernel: string, initrd: string, key: string, fresh: boolean): Promise<KvmVerdict> {
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const record = join(cacheDir(), 'accel-probe.json');
  const id = `${bootId} ${key}`;
  try {
    const saved = JSON.parse(await readFile(record, 'utf8')) as { id?: unknown; verdict?: KvmVerdict };
    if (!fresh && saved.id === id && saved.verdict && keepsVerdict(saved.verdict)) {
      log(`accel: the probe boot's verdict for this host boot, from ${record}`);
      return saved.verdict;
    }
  } catch {
    // no record yet
  }
  log(`accel: ${KVM_DEVICE} opens; probing whether a guest boots under KVM ...`);
  const verdict = await probeBoot(qemu, kernel, initrd);
  await mkdir(cacheDir(), { recursive: true });
  if (keepsVerdict(verdict)) await writeFile(record, `${JSON.stringify({ id, verdict })}\n`);
  else await rm(record, { force: true });
  return verdict;
}

/**
 * The verdict: each check in turn, the probe boot last. The cheap checks
 * run every time (group membership or a container's devices change without
 * a reboot); with `cacheKey`, a probe boot's verdict is kept for this host
 * boot. `device` is /dev/kvm but for tests.
 */
export async function probeKvm(
  qemu: string,
  kernel: string,
  initrd: string,
  opts: { device?: string; cacheKey?: string; fresh?: boolean } = {},
): Promise<KvmVerdict> {
  const device = opts.device ?? KVM_DEVICE;
  const accelerators = await qemuAccelerators(qemu);
  if (!accelerators.includes('kvm')) return { kind: 'qemu-without-kvm', qemu, accelerators };
  const early = deviceVerdict(device);
  if (early) return early;
  return opts.cacheKey === undefined ? probeBoot(qemu, kernel, initrd) : cachedProbeBoot(qemu, kernel, initrd, opts.cacheKey, opts.fresh ?? false);
}

/** Returns the accelerator to use: $OSSA_ACCEL if set, else KVM if proven, else TCG; and logs why. */
export async function chooseAccel(qemu: string, kernel: string, probeInitrd: string, key: string): Promise<Accel> {
  const forced = process.env.OSSA_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') {
    log(`accel: ${forced.toUpperCase()} (OSSA_ACCEL)`);
    return forced;
  }
  if (forced) throw new Error(`OSSA_ACCEL=${forced}: want kvm or tcg`);
  const verdict = await probeKvm(qemu, kernel, probeInitrd, { cacheKey: key });
  log(`accel: ${verdictMessage(verdict)}`);
  return verdict.kind === 'works' ? 'kvm' : 'tcg';
}
