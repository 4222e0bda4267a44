/**
 * `npm run accel-check`: says whether guests here would run under KVM and,
 * if not, why (QEMU without KVM, no /dev/kvm, no permission, KVM broken).
 * Always probes afresh; the runner keeps a probe boot's verdict per host boot.
 *
 * usage: tsx ci/accel-check.ts [--qemu PATH] [--device PATH] [--json]
 * Exit status: 0 KVM works, 3 guests would run under TCG, 2 usage, 1 error.
 */
import { parseArgs } from 'node:util';
import { probeKvm, verdictMessage } from './lib/accel.js';
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
  const verdict = await probeKvm(values.qemu ?? m.qemu, m.vmlinuz, m.probeInitrd, values.device ? { device: values.device } : {});
  process.stdout.write(values.json ? `${JSON.stringify(verdict)}\n` : `${verdictMessage(verdict)}\n`);
  process.exitCode = verdict.kind === 'works' ? 0 : 3;
} catch (err) {
  process.stderr.write(`accel-check: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
