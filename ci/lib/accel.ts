/**
 * Choosing the guest's accelerator: KVM only where a quick probe boot shows
 * that it works, else TCG. The probe's answer is kept for the current host
 * boot (by boot id), QEMU and kernel, so it costs one boot at most.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from './paths.js';
import { log } from './progress.js';
import type { Accel } from './vm.js';

const PROBE_TIMEOUT_MS = 20_000;
const PROBE_MARKER = 'ossa-probe: userspace reached';

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function probeKvm(qemu: string, kernel: string, initrd: string): Promise<boolean> {
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
  return !result.timedOut && result.exitCode === 0 && String(result.all).includes(PROBE_MARKER);
}

/** Returns the accelerator to use: $OSSA_ACCEL if set, else KVM if proven, else TCG. */
export async function chooseAccel(qemu: string, kernel: string, probeInitrd: string, key: string): Promise<Accel> {
  const forced = process.env.OSSA_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (!existsSync('/dev/kvm') || !kvmUsable()) return 'tcg';

  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const record = join(cacheDir(), 'accel-probe.json');
  const id = `${bootId} ${key}`;
  try {
    const saved = JSON.parse(await readFile(record, 'utf8')) as { id: string; accel: Accel };
    if (saved.id === id) return saved.accel;
  } catch {
    // no record yet
  }
  log('accel: /dev/kvm exists; probing whether a guest boots under KVM ...');
  const accel: Accel = (await probeKvm(qemu, kernel, probeInitrd)) ? 'kvm' : 'tcg';
  log(accel === 'kvm' ? 'accel: KVM works' : 'accel: KVM probe failed; using TCG');
  await mkdir(cacheDir(), { recursive: true });
  await writeFile(record, `${JSON.stringify({ id, accel })}\n`);
  return accel;
}
