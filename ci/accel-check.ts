/**
 * `npm run accel-check`: says whether guests here would run under KVM and,
 * if not, why (QEMU without KVM, no /dev/kvm, no permission, KVM broken).
 * Always probes afresh. The runner keeps a probe boot's verdict per host
 * boot; this check, for the build's own QEMU and /dev/kvm, replaces it with
 * what it found (after fixing KVM, run it and the next run uses KVM).
 *
 * usage: tsx ci/accel-check.ts [--qemu PATH] [--device PATH] [--json]
 * Exit status: 0 KVM works, 3 guests would run under TCG, 2 usage, 1 error.
 */
import { parseArgs } from 'node:util';
import { probeKey, probeKvm, verdictMessage } from './lib/accel.js';
import { readManifest } from './lib/manifest.js';

function usage(message: string): never {
  process.stderr.write(`accel-check: ${message}\nusage: tsx ci/accel-check.ts [--qemu PATH] [--device PATH] [--json]\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: { qemu: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean', default: false } },
  }));
} catch (err) {
  usage((err as Error).message);
}
try {
  const m = await readManifest();
  // Another QEMU or device than the runner's: nothing of the runner's to replace.
  const own = values.qemu === undefined && values.device === undefined;
  const opts = own ? { cacheKey: probeKey(m), fresh: true } : values.device ? { device: values.device } : {};
  const verdict = await probeKvm(values.qemu ?? m.qemu, m.vmlinuz, m.probeInitrd, opts);
  process.stdout.write(values.json ? `${JSON.stringify(verdict)}\n` : `${verdictMessage(verdict)}\n`);
  process.exitCode = verdict.kind === 'works' ? 0 : 3;
} catch (err) {
  process.stderr.write(`accel-check: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
