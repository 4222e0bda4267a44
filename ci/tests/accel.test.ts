/**
 * The accelerator probe: each reason for TCG is told apart and named, from
 * real QEMU binaries, real device nodes and a real probe boot.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceVerdict, keepsVerdict, KVM_DEVICE, type KvmVerdict, openDevice, parseAccelHelp, probeKey, probeKvm, qemuAccelerators, verdictMessage } from '../lib/accel.js';
import { type BuildManifest, readManifest } from '../lib/manifest.js';
import { repoRoot } from '../lib/paths.js';

let m: BuildManifest;
let dir: string;
beforeAll(async () => {
  m = await readManifest();
  dir = await mkdtemp(join(tmpdir(), 'ossa-accel-'));
  await chmod(dir, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the KVM probe', () => {
  it('names a QEMU built without KVM (what QEMU 10.0.2 configured without --enable-kvm prints)', () => {
    // `qemu-system-x86_64 -accel help` of this project's builds before KVM
    // was enabled; `-accel kvm` then failed with "invalid accelerator kvm".
    const accelerators = parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\n');
    expect(accelerators).toEqual(['tcg']);
    expect(verdictMessage({ kind: 'qemu-without-kvm', qemu: '/x/qemu-system-x86_64', accelerators })).toBe(
      'TCG: QEMU without KVM (/x/qemu-system-x86_64 -accel help lists tcg; configure it with --enable-kvm)',
    );
    expect(() => parseAccelHelp('qemu-system-x86_64: -accel help: invalid option\n')).toThrow(/no accelerator list/);
  });

  it('every QEMU this project builds for guests has both KVM and TCG', async () => {
    const binaries = [m.qemu, m.qemuAsan, m.qemuNewest?.binary, m.qemuOwn?.binary].filter((b): b is string => b !== undefined);
    for (const qemu of binaries) expect(await qemuAccelerators(qemu), qemu).toEqual(expect.arrayContaining(['kvm', 'tcg']));
  });

  it('names a missing /dev/kvm', async () => {
    const device = join(dir, 'no-such-kvm');
    const verdict = await probeKvm(m.qemu, m.vmlinuz, m.probeInitrd, { device });
    expect(verdict).toEqual({ kind: 'no-device', device });
    expect(verdictMessage(verdict)).toBe(`TCG: no ${device} (no KVM on this host, or a container started without --device ${device})`);
  });

  it('names a /dev/kvm that this user may not open read-write', async () => {
    // KVM's own character device (10:232), root's and mode 0600, opened by
    // the user nobody, as QEMU would open it.
    const device = join(dir, 'kvm');
    await execa('mknod', ['-m', '0600', device, 'c', '10', '232']);
    const probe = `import(${JSON.stringify(join(repoRoot, 'ci/lib/accel.ts'))}).then((a) => console.log(JSON.stringify(a.deviceVerdict(process.argv[1]))))`;
    const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '-e', probe, device], {
      cwd: repoRoot,
      env: { HOME: dir, TSX_TSCONFIG_PATH: join(repoRoot, 'tsconfig.json') },
    });
    const verdict = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as ReturnType<typeof deviceVerdict>;
    expect(verdict).toEqual({ kind: 'no-permission', device, code: 'EACCES' });
    expect(verdictMessage(verdict!)).toMatch(/^TCG: no permission to open .* read-write \(EACCES; add the user to the device's group, usually kvm\)$/);
  });

  it(`tells a working ${KVM_DEVICE} from a broken one by booting a probe guest under KVM`, async () => {
    const verdict = await probeKvm(m.qemu, m.vmlinuz, m.probeInitrd);
    const message = verdictMessage(verdict);
    const open = openDevice(KVM_DEVICE);
    if (!open.ok) {
      // No device to probe here: the verdict must say why, before any boot.
      expect(verdict.kind, message).toMatch(/^(no-device|no-permission|not-allowed|cannot-open)$/);
      return;
    }
    // The device opens: only a boot decides. A working KVM boots the probe
    // guest to userspace; on a host whose KVM fails (this project's own CI
    // machines: nested virtualisation without a usable VMX), QEMU's own
    // words say how.
    expect(verdict.kind, message).toMatch(/^(works|broken)$/);
    if (verdict.kind === 'works') expect(verdict.seconds).toBeGreaterThan(0);
    else expect(message).toMatch(/^TCG: KVM broken: a probe guest did not boot under KVM \((no userspace within 20 s|QEMU exited with \S+ before userspace)/);
  }, 60_000);

  it('keeps a probe boot that booted or failed for the host boot, not one that ran out of time', () => {
    expect(keepsVerdict({ kind: 'works', seconds: 2 })).toBe(true);
    expect(keepsVerdict({ kind: 'broken', detail: 'QEMU exited with SIGABRT before userspace', timedOut: false })).toBe(true);
    expect(keepsVerdict({ kind: 'broken', detail: 'no userspace within 20 s', timedOut: true })).toBe(false);
  });

  it('npm run accel-check probes afresh whatever is kept, and keeps what it found for the runner', async () => {
    // A kept verdict for this host boot and this build that no probe made.
    const cache = await mkdtemp(join(tmpdir(), 'ossa-accel-cache-'));
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const record = join(cache, 'accel-probe.json');
    const id = `${bootId} ${probeKey(m)}`;
    await writeFile(record, JSON.stringify({ id, verdict: { kind: 'broken', detail: 'kept from before', timedOut: false } }));
    const r = await execa('npx', ['tsx', 'ci/accel-check.ts', '--json'], { cwd: repoRoot, reject: false, env: { OSSA_CACHE_DIR: cache } });
    const verdict = JSON.parse(r.stdout) as KvmVerdict;
    expect(JSON.stringify(verdict)).not.toContain('kept from before');
    expect(r.exitCode).toBe(verdict.kind === 'works' ? 0 : 3);
    const kept = JSON.parse(await readFile(record, 'utf8').catch(() => '{}')) as { id?: string; verdict?: KvmVerdict };
    if (verdict.kind === 'works' || verdict.kind === 'broken') {
      // A probe boot ran: the runner now reads its verdict, unless it ran out of time.
      if (keepsVerdict(verdict)) expect(kept).toEqual({ id, verdict });
      else expect(kept).toEqual({});
    } else {
      // No boot (no device, no permission): nothing to keep, the old record untouched.
      expect(kept.verdict).toMatchObject({ detail: 'kept from before' });
    }
    await rm(cache, { recursive: true, force: true });
  }, 60_000);
});
