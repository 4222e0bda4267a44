/**
 * The `ossa` command-line tool.
 *
 *   ossa list | -L            the accel device nodes and their drivers
 *   ossa info                 the device and driver
 *   ossa run <job.json>       run a job described in JSON (see docs/cli.md)
 *   ossa copy --size N        COPY N bytes with the device and verify them
 *   ossa selftest             every command against the reference
 *   ossa top [-J]             each client's engine use and memory (fdinfo)
 *   ossa trace -- COMMAND     each job's journey while COMMAND runs, as a
 *                             Perfetto (Chrome JSON) trace
 *   ossa conformance --tier core
 *                             the DRM accel core's conformance tier against
 *                             any accel node, as KTAP
 *   ossa help [COMMAND]       usage, of the tool or of one command
 *   ossa --version | -V       the tool's version and the uapi it speaks
 *
 * Options: --device PATH (default: the first ossa node), --json (machine-
 * readable output), -h/--help. Exit status: 0 success, 1 a check or job
 * failed, 2 bad usage or input (the message and the usage on stderr),
 * 3 a device or driver error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AccelError } from './accel-core/file.js';
import { AdapterError } from './accel-core/adapter.js';
import { type ConformanceRun, FilterError, runConformance, type Tier, TIERS } from './conformance.js';
import { Device } from './device.js';
import { accelNodes } from './discovery.js';
import { type ClientUsage, drmClients } from './fdinfo.js';
import { OssaError } from './errors.js';
import { JobFileError, runJobFile } from './job-file.js';
import { deviceCopy, selftest } from './selftest.js';
import { TraceError, traceCommand } from './trace/record.js';
import { OSSA_UAPI_MAJOR } from './uapi.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
const COMMON: Options = {
  json: { type: 'boolean', short: 'j', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};
const DEVICE: Options = { device: { type: 'string' } };

interface CommandSpec {
  /** The arguments after the command's name, as the usage line shows them. */
  synopsis: string;
  summary: string;
  /** Lines describing the command's own options. */
  details: string[];
  options: Options;
}

const COMMANDS: Record<string, CommandSpec> = {
  list: {
    synopsis: '[--json]',
    summary: 'list the accel device nodes, their drivers and, for ossa, the device',
    details: ['Also `ossa -L`. Only nodes whose driver sysfs names as ossa are opened.'],
    options: {},
  },
  info: {
    synopsis: '[--device PATH] [--json]',
    summary: 'show the device and driver',
    details: [],
    options: DEVICE,
  },
  run: {
    synopsis: '<job.json> [--device PATH] [--json]',
    summary: 'run the job a file describes (see docs/cli.md)',
    details: [],
    options: DEVICE,
  },
  copy: {
    synopsis: '--size N [--queue Q] [--device PATH] [--json]',
    summary: 'copy N bytes with the device and verify them',
    details: ['--size N             bytes, with a K, M or G suffix', '--queue Q            hardware queue (default 0)'],
    options: { ...DEVICE, size: { type: 'string' }, queue: { type: 'string' } },
  },
  selftest: {
    synopsis: '[--device PATH] [--json]',
    summary: 'run every command and compare it with the reference',
    details: [],
    options: DEVICE,
  },
  top: {
    synopsis: '[-J] [-s MS] [-n COUNT]',
    summary: "each ossa client's engine use and memory, from fdinfo, every MS ms",
    details: [
      '-J, --json           one JSON object per sample (also: -j)',
      '-s MS                sampling period in ms (default 1000)',
      '-n COUNT             samples to print, then exit (default: until interrupted)',
      "Busy time is the device time of each client's finished jobs per queue (drm-engine-queueN); a job counts when it ends, so a share is capped at 100%.",
    ],
    options: { 'json-records': { type: 'boolean', short: 'J', default: false }, s: { type: 'string' }, n: { type: 'string' } },
  },
  trace: {
    synopsis: '[-o FILE] [--device PATH] [--json] -- COMMAND [ARG...]',
    summary: "run COMMAND and write each job's journey as a Perfetto trace",
    details: [
      '-o, --output FILE    the trace (default ossa-trace.json), Chrome JSON: open it in ui.perfetto.dev',
      "Records the library's submit and wait spans in COMMAND (OSSA_TRACE_SPANS), every ioctl, drm_sched's job",
      "events and ossa's interrupts (ftrace, root), and the device's own trace events from QEMU when the host",
      "offers its control port (the project's runner does), all on the guest's CLOCK_MONOTONIC. The exit",
      "status is COMMAND's; a summary goes to stderr (with --json, to stdout as JSON).",
    ],
    options: { ...DEVICE, output: { type: 'string', short: 'o' } },
  },
  conformance: {
    synopsis: '--tier core [--device PATH] [--adapter MODULE|none] [--filter TEXT] [--master-ioctls] [--json]',
    summary: "run the DRM accel core's conformance tier against any accel node, as KTAP",
    details: [
      '--tier core          the tier: core, the DRM accel core, which every accel driver answers alike',
      '--device PATH        any /dev/accel node (default: the only one, else the first ossa node)',
      "--adapter MODULE|none  a module (file, URL or package) exporting `adapter` that makes the driver's buffers",
      "                     (docs/conformance-kit.md); default: the one built in for the node's driver (ossa);",
      '                     none: skip the tests that need buffers',
      '--filter TEXT        only the tests whose group or name holds TEXT',
      '--master-ioctls      also call GET_UNIQUE and GET_MAGIC, which oops kernels without the DRM core fix',
      '                     unless the driver guards them',
      'KTAP version 1 on stdout as the tests run (with --json, the results as JSON at the end), one subtest per',
      'group; a summary on stderr. Exit status: 0 no test failed (skipped ones included); 1 one failed;',
      '2 bad usage or an adapter that is none, or serves another driver; 3 the node does not open or answer VERSION.',
    ],
    options: { ...DEVICE, tier: { type: 'string' }, adapter: { type: 'string' }, filter: { type: 'string' }, 'master-ioctls': { type: 'boolean', default: false } },
  },
  help: {
    synopsis: '[COMMAND]',
    summary: 'show this text, or the usage of one command',
    details: [],
    options: {},
  },
};

const USAGE = `usage: ossa <command> [options]
       ossa --version | -V
       ossa -L

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

options:
  --device PATH        device node (default: the first /dev/accel node of ossa)
  -j, --json           print JSON
  -h, --help           this text, or a command's usage after its name

Run 'ossa help COMMAND' for one command's usage.
`;

function commandUsage(name: string, spec: CommandSpec): string {
  return [`usage: ossa ${name} ${spec.synopsis}`, '', spec.summary, ...(spec.details.length ? ['', ...spec.details] : []), ''].join('\n');
}

/** A mistake in how the tool was called or in its input: exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage to print after the message: the tool's or a command's. */
    readonly usage = USAGE,
  ) {
    super(message);
  }
}

/** The library package's version, from its package.json. */
export function packageVersion(): { name: string; version: string } {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
  return { name: pkg.name ?? 'ossa', version: pkg.version ?? '0.0.0' };
}

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
  const [first, ...after] = argv;
  if (first === undefined) throw new UsageError('no command given');
  if (first === '--version' || first === '-V') {
    const { name, version } = packageVersion();
    process.stdout.write(`${name} ${version} (ossa uapi ${OSSA_UAPI_MAJOR})\n`);
    return 0;
  }
  if (first === '-h' || first === '--help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = first === '-L' ? 'list' : first;
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(first.startsWith('-') ? `unknown option "${first}" before the command` : `unknown command "${command}"`);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: after, allowPositionals: true, strict: true, options: { ...COMMON, ...spec.options } });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`, commandUsage(command, spec));
  }
  const values = parsed.values as {
    json?: boolean;
    'json-records'?: boolean;
    help?: boolean;
    device?: string;
    size?: string;
    queue?: string;
    s?: string;
    n?: string;
    output?: string;
    tier?: string;
    adapter?: string;
    filter?: string;
    'master-ioctls'?: boolean;
  };
  const rest = parsed.positionals;
  if (values.help) {
    process.stdout.write(commandUsage(command, spec));
    return 0;
  }
  const json = values.json ?? false;
  const open = (): Device => Device.open(values.device);
  const usageError = (message: string): UsageError => new UsageError(message, commandUsage(command, spec));
  const maxArgs = command === 'trace' ? Infinity : command === 'run' || command === 'help' ? 1 : 0;
  if (rest.length > maxArgs) throw usageError(`${command}: unexpected argument "${rest[maxArgs] ?? ''}"`);

  switch (command) {
    case 'help': {
      const topic = rest[0];
      if (topic === undefined) {
        process.stdout.write(USAGE);
        return 0;
      }
      const t = COMMANDS[topic];
      if (!t) throw new UsageError(`help: unknown command "${topic}"`);
      process.stdout.write(commandUsage(topic, t));
      return 0;
    }
    case 'list': {
      const nodes = accelNodes().map((n) => {
        if (n.driver !== 'ossa') return { ...n };
        try {
          using dev = Device.open(n.path);
          const i = dev.info();
          return { ...n, device: { driver: i.driver, hwVersion: i.hwVersion, numQueues: i.numQueues } };
        } catch (err) {
          if (!(err instanceof OssaError)) throw err;
          return { ...n, error: err.code };
        }
      });
      if (json) {
        print(true, nodes, '');
        return 0;
      }
      if (!nodes.length) {
        process.stderr.write('ossa: no accel device nodes (/dev/accel is empty or missing)\n');
        return 0;
      }
      const lines = nodes.map((n) => {
        const what =
          'device' in n && n.device
            ? `ossa ${n.device.driver.major}.${n.device.driver.minor}.${n.device.driver.patchlevel}, interface ${n.device.hwVersion.major}.${n.device.hwVersion.minor}, ${n.device.numQueues} queues`
            : 'error' in n
              ? `cannot open: ${n.error}`
              : '';
        return `${n.path}  ${n.driver ?? '(no driver)'}  ${n.busId ?? '-'}${what ? `  ${what}` : ''}`;
      });
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    case 'top': {
      const period = values.s === undefined ? 1000 : Number(values.s);
      if (!Number.isInteger(period) || period < 10) throw usageError(`-s ${values.s}: a period of at least 10 ms`);
      const count = values.n === undefined ? Infinity : Number(values.n);
      if (!(Number.isInteger(count) && count > 0) && count !== Infinity) throw usageError(`-n ${values.n}: a positive number of samples`);
      await top(period, count, json || (values['json-records'] ?? false));
      return 0;
    }
    case 'trace': {
      if (!rest.length) throw usageError('trace needs a command: ossa trace -- COMMAND [ARG...]');
      const r = await traceCommand(rest, { output: values.output ?? 'ossa-trace.json', ...(values.device ? { device: values.device } : {}) });
      const clock = r.clockUncertaintyNs === undefined ? '' : `, device clock placed within ±${(r.clockUncertaintyNs / 1000).toFixed(1)} µs`;
      if (json) print(true, r, '');
      else {
        process.stderr.write(`ossa trace: ${r.jobs} jobs, ${r.complete} seen on every side; device events ${r.deviceEvents}${clock}; wrote ${r.output}\n`);
        for (const j of r.incomplete.slice(0, 10)) process.stderr.write(`  job ${j.job}: no ${j.missing.join(', ')}\n`);
        if (r.steps.jobs) {
          const rows = r.steps.steps.map((s) => `  ${s.p50Us.toFixed(1).padStart(9)} µs  ${s.step}`);
          const busy = r.steps.deviceBusy.map((b) => `queue ${b.queue} ${(100 * b.share).toFixed(0)}%`).join(', ');
          process.stderr.write(`median of ${r.steps.jobs} jobs:\n${rows.join('\n')}\ndevice busy: ${busy}\n`);
        }
      }
      return r.exitStatus;
    }
    case 'conformance': {
      if (values.tier === undefined) throw usageError(`conformance needs --tier (${TIERS.join(', ')})`);
      if (!(TIERS as readonly string[]).includes(values.tier)) throw usageError(`--tier ${values.tier}: no such tier (${TIERS.join(', ')})`);
      const node = values.device ?? conformanceNode();
      let r: ConformanceRun;
      try {
        r = await runConformance(node, values.tier as Tier, {
          ...(values.adapter !== undefined ? { adapter: values.adapter } : {}),
          ...(values.filter !== undefined ? { filter: values.filter } : {}),
          masterIoctls: values['master-ioctls'] ?? false,
          // KTAP as it comes: a run that hangs still shows what it did.
          ...(json ? {} : { onLine: (line: string) => process.stdout.write(`${line}\n`) }),
        });
      } catch (err) {
        if (err instanceof FilterError) throw usageError(err.message);
        throw err;
      }
      if (json) print(true, r, '');
      const adapterText = 'module' in r.adapter ? r.adapter.module : r.adapter.none;
      process.stderr.write(
        `ossa conformance: tier ${r.tier} on ${r.node} (driver ${r.driver.name} ${r.driver.major}.${r.driver.minor}.${r.driver.patchlevel}; adapter: ${adapterText}): ` +
          `${r.counts.pass} passed, ${r.counts.fail} failed, ${r.counts.skip} skipped\n`,
      );
      // A test that ran out of time may still hold a thread in the kernel: do not wait for it.
      if (r.timedOut) process.exit(1);
      return r.counts.fail ? 1 : 0;
    }
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
      if (!values.size) throw usageError('copy needs --size N');
      const size = parseSize(values.size);
      const queue = values.queue === undefined ? 0 : Number(values.queue);
      if (!Number.isInteger(queue) || queue < 0) throw usageError(`--queue ${values.queue}: not a queue number`);
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
      if (!file) throw usageError('run needs a job file: ossa run <job.json>');
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
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** The node `ossa conformance` runs on without --device: the only accel node, else the first of ossa. */
function conformanceNode(): string {
  const nodes = accelNodes();
  const only = nodes.length === 1 ? nodes[0] : undefined;
  const node = only ?? nodes.find((n) => n.driver === 'ossa');
  if (node) return node.path;
  const list = nodes.map((n) => `${n.path} (${n.driver ?? 'no driver'})`).join(', ');
  throw new AccelError(`no accel node to choose: ${list || '/dev/accel is empty or missing'}; give one with --device`, 19, 'ENODEV', 'open');
}

/** `ossa top`: each ossa client's busy share of every queue over each period, and its memory. */
async function top(periodMs: number, count: number, json: boolean): Promise<void> {
  const sample = (): { at: bigint; clients: Map<number, ClientUsage> } => ({
    at: process.hrtime.bigint(),
    clients: new Map(drmClients('ossa').map((c) => [c.clientId, c])),
  });
  let prev = sample();
  for (let i = 0; i < count; i++) {
    await new Promise((r) => setTimeout(r, periodMs));
    const cur = sample();
    const wall = Number(cur.at - prev.at);
    const clients = [...cur.clients.values()].map((c) => {
      const before = prev.clients.get(c.clientId);
      const engines = Object.fromEntries(
        Object.entries(c.engines).map(([name, ns]) => {
          const was = before?.engines[name];
          const busy = was === undefined ? undefined : Number(ns - was);
          // A job's time counts when it ends: a long one lands in one period whole, so cap the share.
          return [name, { busyNs: ns, percent: busy === undefined ? null : Math.min(100, (100 * busy) / wall) }];
        }),
      );
      return { clientId: c.clientId, pids: c.pids, memory: c.memory, engines };
    });
    if (json) {
      process.stdout.write(`${JSON.stringify({ periodMs: wall / 1e6, clients }, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n`);
    } else {
      const names = [...new Set(clients.flatMap((c) => Object.keys(c.engines)))].sort();
      const head = ['client'.padStart(7), 'processes'.padEnd(24), 'memory'.padStart(10), ...names.map((n) => n.padStart(8))].join('  ');
      const rows = clients.map((c) =>
        [
          String(c.clientId).padStart(7),
          c.pids.map((p) => `${p.pid} ${p.comm}`).join(', ').slice(0, 24).padEnd(24),
          formatBytes(c.memory.total ?? 0).padStart(10),
          ...names.map((n) => {
            const pct = c.engines[n]?.percent;
            return (pct === null || pct === undefined ? '-' : `${pct.toFixed(1)}%`).padStart(8);
          }),
        ].join('  '),
      );
      process.stdout.write(`ossa top: ${clients.length} client(s), ${(wall / 1e6).toFixed(0)} ms\n${head}\n${rows.join('\n')}${rows.length ? '\n' : ''}\n`);
    }
    prev = cur;
  }
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Runs main() and maps errors to messages and exit statuses. */
export async function run(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ossa: ${err.message}\n\n${err.usage}`);
      return 2;
    }
    if (err instanceof TraceError) {
      process.stderr.write(`ossa trace: ${err.message}\n`);
      return 1;
    }
    if (err instanceof JobFileError) {
      process.stderr.write(`ossa: ${err.message}\n`);
      return 2;
    }
    if (err instanceof AccelError) {
      process.stderr.write(`ossa: ${err.message}\n`);
      return 3;
    }
    if (err instanceof AdapterError) {
      process.stderr.write(`ossa conformance: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
