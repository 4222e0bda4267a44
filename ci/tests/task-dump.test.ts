/**
 * A guest that stops answering is asked for a task dump before QEMU is
 * stopped, and the dump is kept in its console log. The guest here is the
 * real guest kernel whose init only sleeps: it never reports to the runner,
 * so the boot timeout ends it, as it would end a guest stuck in its kernel.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { chooseAccel, probeKey } from '../lib/accel.js';
import { readManifest } from '../lib/manifest.js';
import { outDir } from '../lib/paths.js';
import { runGuest } from '../lib/vm.js';

it("a stuck guest's kernel dumps its tasks (sysrq t and w) into the console log before QEMU is stopped, and the failure says where its tasks were", async () => {
  const m = await readManifest();
  const accel = await chooseAccel(m.qemu, m.vmlinuz, m.probeInitrd, probeKey(m));
  const consoleLog = join(outDir, 'logs', 'task-dump-console.log');
  // The probe image's busybox as init, running `sleep 600`: userspace is
  // up, and nothing reaches the runner.
  const run = await runGuest({
    qemu: m.qemu,
    kernel: m.vmlinuz,
    initrd: m.probeInitrd,
    consoleLog,
    accel,
    append: 'rdinit=/bin/busybox -- sleep 600',
    bootTimeoutS: accel === 'kvm' ? 20 : 60,
  });
  expect(run.failure?.cause, run.failure?.message).toBe('boot-timeout');
  const text = await readFile(consoleLog, 'utf8');
  const asked = text.indexOf('ossa-host: the guest is stuck: asking its kernel for a task dump (sysrq t, then w)');
  expect(asked, 'the runner notes that it asks').toBeGreaterThan(0);
  const dump = text.slice(asked);
  // The kernel's own lines: the two dumps, and in the first the sleeping init.
  expect(dump).toMatch(/sysrq: Show State/);
  expect(dump).toMatch(/task:busybox\s+state:S/);
  expect(dump).toMatch(/sysrq: Show Blocked State/);
  expect(dump.indexOf('sysrq: Show State')).toBeLessThan(dump.indexOf('sysrq: Show Blocked State'));
  expect(dump).toMatch(/ossa-host: task dump done; stopping QEMU\n$/);
  // The failure message carries where the tasks were, for a CI engine
  // that shows it and not the console log: init, asleep in nanosleep.
  expect(run.failure?.message).toMatch(/; the guest's tasks then: busybox\[1\] S: do_nanosleep < hrtimer_nanosleep/);
}, 180_000);
