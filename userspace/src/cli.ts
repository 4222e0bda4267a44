/**
 * The `ossa` command-line tool.
 *
 *   ossa info                 the device and driver
 *   ossa run <job.json>       run a job described in JSON (see docs/cli.md)
 *   ossa copy --size N        COPY N bytes with the device and verify them
 *   ossa selftest             every command against the reference
 *
 * Options: --device PATH (default: the first ossa node), --json (machine-
 * readable output). Exit status: 0 success, 1 a check or job failed,
 * 2 bad usage or input, 3 a device or driver error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Device } from './device.js';
import { OssaError } from './errors.js';
import { JobFileError, runJobFile } from './job-file.js';
import { deviceCopy, selftest } from './selftest.js';

const USAGE = `usage: ossa <command> [options]

commands:
  info                 show the device and driver
  run <job.json>       run the job the file describes
  copy --size N        copy N bytes (suffixes K, M, G) with the device and verify
  selftest             run every command and compare with the reference

options:
  --device PATH        device node (default: the first /dev/accel node of ossa)
  --queue Q            hardware queue for copy (default 0)
  --json               print JSON
  -h, --help           this text
`;

/** A mistake in how the tool was called or in its input: exit status 2. */
export class UsageError extends Error {}

function parseSize(text: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(text.trim());
  if (!m) throw new UsageError(`--size ${text}: not a size (e.g. 4096, 64M)`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase()] ?? 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--size ${text}: must be positive`);
  return n;
}

const replacer = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value);

function print(json: boolean, data: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(data, replacer, 2)}\n` : `${text}\n`);
}

/** Runs the tool; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      device: { type: 'string' },
      size: { type: 'string' },
      queue: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const json = values.json ?? false;
  const open = (): Device => Device.open(values.device);

  switch (command) {
    case 'info': {
      using dev = open();
      const i = dev.info();
      print(
        json,
        i,
        [
          `device        ${i.path}`,
          `driver        ${i.driver.name} ${i.driver.major}.${i.driver.minor}.${i.driver.patchlevel} (${i.driver.desc})`,
          `interface     ${i.hwVersion.major}.${i.hwVersion.minor}`,
          `queues        ${i.numQueues}`,
          `address space 0x${i.vaStart.toString(16)} + 0x${i.vaSize.toString(16)}`,
          `limits        command stream ${i.maxCmdSize} bytes, buffer ${i.maxBoSize} bytes, job ${i.jobTimeoutMs} ms`,
        ].join('\n'),
      );
      return 0;
    }
    case 'copy': {
      if (!values.size) throw new UsageError('copy needs --size N');
      const size = parseSize(values.size);
      const queue = values.queue === undefined ? 0 : Number(values.queue);
      if (!Number.isInteger(queue) || queue < 0) throw new UsageError(`--queue ${values.queue}: not a queue number`);
      using dev = open();
      const r = await deviceCopy(dev, size, queue);
      const gbps = r.bytes / (r.ms / 1000) / 1e9;
      print(json, { ...r, gbps }, `copied ${r.bytes} bytes in ${r.ms.toFixed(2)} ms (${gbps.toFixed(2)} GB/s): ${r.verified ? 'verified' : 'CONTENTS DIFFER'}`);
      return r.verified ? 0 : 1;
    }
    case 'selftest': {
      using dev = open();
      const results = await selftest(dev);
      const failed = results.filter((r) => !r.ok).length;
      print(
        json,
        { results, failed },
        [
          ...results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(16)} ${r.ms.toFixed(1).padStart(8)} ms  ${r.detail}`),
          failed ? `${failed} of ${results.length} checks failed` : `all ${results.length} checks passed`,
        ].join('\n'),
      );
      return failed ? 1 : 0;
    }
    case 'run': {
      const file = rest[0];
      if (!file) throw new UsageError('run needs a job file: ossa run <job.json>');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(`${file}: ${(err as Error).message}`);
      }
      using dev = open();
      const r = await runJobFile(dev, text, file);
      print(
        json,
        r,
        [
          `job ${r.state}${r.errno ? ` (errno ${r.errno})` : ''} in ${r.ms.toFixed(2)} ms`,
          ...r.dumps.map((d) => `${d.buffer}+${d.offset}: ${d.hex}`),
        ].join('\n'),
      );
      return r.state === 'signaled' ? 0 : 1;
    }
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

/** Runs main() and maps errors to messages and exit statuses. */
export async function run(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof JobFileError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`ossa: ${err.message}\n`);
      return 2;
    }
    if (err instanceof OssaError) {
      process.stderr.write(`ossa: ${err.message}\n`);
      return 3;
    }
    throw err;
  }
}
