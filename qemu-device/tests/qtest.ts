/**
 * A client for QEMU's qtest protocol (system/qtest.c), with QMP beside it
 * (qmp.ts), for testing the ossa device model without a guest kernel.
 *
 * Like libqtest (tests/qtest/libqtest.c), the client listens on two unix
 * sockets and QEMU connects to both: `-qtest unix:PATH` for the qtest
 * stream, `-chardev socket,path=...` + `-mon mode=control` for QMP.
 *
 * qtest commands are answered in order; the client writes each command as
 * soon as it is issued and matches the answers to a FIFO of pending
 * promises (a queue: one command is processed at a time by QEMU, but several
 * may be in flight, which makes batches cheap). Asynchronous `IRQ raise N` /
 * `IRQ lower N` lines are recorded on the side.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { execa, type ResultPromise } from 'execa';
import { qemuCoverageEnv } from '../../ci/lib/line-coverage.js';
import { readManifest } from '../../ci/lib/manifest.js';
import { onLines, Qmp, QemuError } from '../../ci/lib/qmp.js';

export { QemuError };

export type Addr = number | bigint;

export interface QemuOptions {
  /** Options appended to `-device ossa,id=ossa0` (default `fault-injection=on`). */
  deviceOptions?: string;
  /** Guest RAM (default `512M`). */
  memory?: string;
  /** More command-line arguments. */
  extraArgs?: string[];
  /** Command-line arguments placed before the device's `-device` (e.g. the bus it plugs into). */
  beforeDevice?: string[];
  /**
   * The QEMU binary; default: $OSSA_QTEST_QEMU, else the ASan and gcov
   * build when there is one (npm test), else the `qemu` of out/build.json.
   */
  qemu?: string;
  /** ASAN_OPTIONS of an AddressSanitizer build (default: abort on the first error, no leak report). */
  asanOptions?: string;
  /** Milliseconds to wait for QEMU to connect (default 20000). */
  startTimeoutMs?: number;
  /** Milliseconds to wait for any single answer (default 20000). */
  commandTimeoutMs?: number;
}

/** The qdev id of the device under test, and its QOM path. */
export const DEVICE_ID = 'ossa0';
export const DEVICE_QOM_PATH = `/machine/peripheral/${DEVICE_ID}`;

interface Pending {
  command: string;
  resolve: (answer: string) => void;
  reject: (err: Error) => void;
}

/** How QEMU ended after `quit`: its exit code or the signal that ended it, and all it wrote to stderr. */
export interface QemuExit {
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

export interface IrqEvent {
  line: number;
  level: boolean;
}

function hex(v: Addr): string {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`bad address/value ${v}`);
  } else if (v < 0n) {
    throw new RangeError(`bad address/value ${v}`);
  }
  return `0x${v.toString(16)}`;
}

function acceptOne(server: Server, timeoutMs: number, died: Promise<never>): Promise<Socket> {
  const accepted = new Promise<Socket>((resolve, reject) => {
    const timer = setTimeout(() => reject(new QemuError('QEMU did not connect in time')), timeoutMs);
    server.once('connection', (s: Socket) => {
      clearTimeout(timer);
      resolve(s);
    });
  });
  return Promise.race([accepted, died]);
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

/** The QEMU the tests run: the AddressSanitizer build when there is one. */
export async function defaultQemu(): Promise<string> {
  const m = await readManifest();
  return m.qemuAsan ?? m.qemu;
}

/** A QEMU process driven through qtest. */
export class QTest implements AsyncDisposable {
  private readonly queue: Pending[] = [];
  private readonly irqLevels = new Map<number, boolean>();
  readonly irqEvents: IrqEvent[] = [];
  private deadError: Error | undefined;
  private stderr = '';
  private closing = false;

  private constructor(
    private readonly proc: ResultPromise,
    private readonly sock: Socket,
    readonly qmp: Qmp,
    private readonly dir: string,
    readonly logFile: string,
    private readonly commandTimeoutMs: number,
  ) {
    onLines(sock, (line) => this.onLine(line));
    sock.on('close', () => this.die('qtest socket closed'));
    sock.on('error', () => this.die('qtest socket error'));
  }

  /** Starts QEMU with the ossa device and connects qtest and QMP. */
  static async start(opts: QemuOptions = {}): Promise<QTest> {
    const qemu = opts.qemu ?? process.env.OSSA_QTEST_QEMU ?? (await defaultQemu());
    const dir = await mkdtemp(join(tmpdir(), 'ossa-qtest-'));
    const qtestPath = join(dir, 'qtest.sock');
    const qmpPath = join(dir, 'qmp.sock');
    const logFile = join(dir, 'guest-errors.log');
    const qtestServer = await listen(qtestPath);
    const qmpServer = await listen(qmpPath);
    const deviceOptions = opts.deviceOptions ?? 'fault-injection=on';
    const device = ['ossa', `id=${DEVICE_ID}`, ...(deviceOptions ? [deviceOptions] : [])].join(',');
    const args = [
      '-machine', 'q35',
      '-accel', 'qtest',
      '-nodefaults',
      '-display', 'none',
      '-m', opts.memory ?? '512M',
      '-L', '/usr/share/seabios',
      '-L', '/usr/share/qemu',
      '-qtest', `unix:${qtestPath}`,
      '-chardev', `socket,path=${qmpPath},id=qmp0`,
      '-mon', 'chardev=qmp0,mode=control',
      '-d', 'guest_errors',
      '-D', logFile,
      ...(opts.beforeDevice ?? []),
      '-device', device,
      ...(opts.extraArgs ?? []),
    ];
    // An ASan build must abort on the first error, and not report QEMU's
    // exit-time leaks as one.
    // A gcov build writes its data under the coverage report's prefix.
    const env = { ASAN_OPTIONS: opts.asanOptions ?? 'abort_on_error=1:detect_leaks=0', ...qemuCoverageEnv() };
    const proc = execa(qemu, args, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: false, env });
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      stderr += d;
    });
    const died = (async (): Promise<never> => {
      const r = await proc;
      throw new QemuError(`QEMU exited (${r.exitCode ?? r.signal}) while starting: ${stderr.trim()}\n${qemu} ${args.join(' ')}`);
    })();
    died.catch(() => undefined);
    const timeout = opts.startTimeoutMs ?? 20_000;
    try {
      // Both listeners are attached before either connection can arrive.
      const [sock, qmpSock] = await Promise.all([
        acceptOne(qtestServer, timeout, died),
        acceptOne(qmpServer, timeout, died),
      ]);
      qtestServer.close();
      qmpServer.close();
      const qmp = new Qmp(qmpSock);
      const qt = new QTest(proc, sock, qmp, dir, logFile, opts.commandTimeoutMs ?? 20_000);
      qt.stderr = stderr;
      proc.stderr?.on('data', (d: string) => {
        qt.stderr += d;
      });
      void proc.then((r) => qt.die(`QEMU exited (${r.exitCode ?? r.signal})`));
      await Promise.race([qmp.handshake(), died]);
      const endianness = await qt.command('endianness');
      if (endianness !== 'little') throw new QemuError(`unexpected target endianness ${endianness}`);
      return qt;
    } catch (err) {
      qtestServer.close();
      qmpServer.close();
      proc.kill('SIGKILL');
      await proc;
      await rm(dir, { recursive: true, force: true });
      const msg = err instanceof Error ? err.message : String(err);
      if (msg.includes(stderr.trim())) throw err;
      throw new QemuError(`${msg}; QEMU stderr:\n${stderr.trim()}`);
    }
  }

  private die(why: string): void {
    if (this.deadError) return;
    const err = new QemuError(this.closing ? 'QEMU was closed' : `${why}; QEMU stderr:\n${this.stderr.trim()}`);
    this.deadError = err;
    this.qmp.fail(err);
    for (const p of this.queue.splice(0)) p.reject(err);
  }

  /** Whether QEMU is still running and connected. */
  get alive(): boolean {
    return this.deadError === undefined;
  }

  /** What QEMU wrote to stderr so far. */
  get stderrText(): string {
    return this.stderr;
  }

  /**
   * Polls what QEMU wrote to stderr until it matches `re` or `timeoutMs`
   * passes; returns whether it matched. stderr is a pipe of its own, so a
   * message written before a QMP answer may arrive after it.
   */
  async waitStderr(re: RegExp, timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (re.test(this.stderr)) return true;
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private onLine(line: string): void {
    const irq = /^IRQ (raise|lower) (\d+)$/.exec(line);
    if (irq) {
      const level = irq[1] === 'raise';
      const n = Number(irq[2]);
      this.irqLevels.set(n, level);
      this.irqEvents.push({ line: n, level });
      return;
    }
    const p = this.queue.shift();
    if (!p) return;
    if (line === 'OK') p.resolve('');
    else if (line.startsWith('OK ')) p.resolve(line.slice(3));
    else p.reject(new QemuError(`qtest \`${p.command}\` failed: ${line}`));
  }

  /** Sends one qtest command; resolves with the text after `OK`. */
  command(cmd: string): Promise<string> {
    if (this.deadError) return Promise.reject(this.deadError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.die(`no answer to qtest \`${cmd.slice(0, 80)}\` in ${this.commandTimeoutMs} ms`);
      }, this.commandTimeoutMs);
      this.queue.push({
        command: cmd.length > 120 ? `${cmd.slice(0, 120)}...` : cmd,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.sock.write(`${cmd}\n`);
    });
  }

  // --- memory and MMIO -----------------------------------------------------

  async readb(addr: Addr): Promise<number> {
    return Number(BigInt(await this.command(`readb ${hex(addr)}`)));
  }
  async readw(addr: Addr): Promise<number> {
    return Number(BigInt(await this.command(`readw ${hex(addr)}`)));
  }
  async readl(addr: Addr): Promise<number> {
    return Number(BigInt(await this.command(`readl ${hex(addr)}`)));
  }
  async readq(addr: Addr): Promise<bigint> {
    return BigInt(await this.command(`readq ${hex(addr)}`));
  }
  async writeb(addr: Addr, v: number): Promise<void> {
    await this.command(`writeb ${hex(addr)} ${hex(v & 0xff)}`);
  }
  async writew(addr: Addr, v: number): Promise<void> {
    await this.command(`writew ${hex(addr)} ${hex(v & 0xffff)}`);
  }
  async writel(addr: Addr, v: number): Promise<void> {
    await this.command(`writel ${hex(addr)} ${hex(v >>> 0)}`);
  }
  async writeq(addr: Addr, v: bigint): Promise<void> {
    await this.command(`writeq ${hex(addr)} ${hex(BigInt.asUintN(64, v))}`);
  }

  /** Reads guest memory (b64read). */
  async read(addr: Addr, size: number): Promise<Buffer> {
    if (size === 0) return Buffer.alloc(0);
    const b64 = await this.command(`b64read ${hex(addr)} ${hex(size)}`);
    const buf = Buffer.from(b64, 'base64');
    if (buf.length !== size) throw new QemuError(`b64read returned ${buf.length} bytes, wanted ${size}`);
    return buf;
  }

  /** Writes guest memory (b64write). */
  async write(addr: Addr, data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    await this.command(`b64write ${hex(addr)} ${hex(data.length)} ${b64}`);
  }

  async memset(addr: Addr, size: number, value: number): Promise<void> {
    await this.command(`memset ${hex(addr)} ${hex(size)} ${hex(value & 0xff)}`);
  }

  // --- port I/O ------------------------------------------------------------

  async outb(port: number, v: number): Promise<void> {
    await this.command(`outb ${hex(port)} ${hex(v & 0xff)}`);
  }
  async outw(port: number, v: number): Promise<void> {
    await this.command(`outw ${hex(port)} ${hex(v & 0xffff)}`);
  }
  async outl(port: number, v: number): Promise<void> {
    await this.command(`outl ${hex(port)} ${hex(v >>> 0)}`);
  }
  async inb(port: number): Promise<number> {
    return Number(BigInt(await this.command(`inb ${hex(port)}`)));
  }
  async inw(port: number): Promise<number> {
    return Number(BigInt(await this.command(`inw ${hex(port)}`)));
  }
  async inl(port: number): Promise<number> {
    return Number(BigInt(await this.command(`inl ${hex(port)}`)));
  }

  // --- clock -----------------------------------------------------------------

  /** Advances the virtual clock by `ns` (or to the next deadline); returns the new time. */
  async clockStep(ns?: number | bigint): Promise<bigint> {
    const r = await this.command(ns === undefined ? 'clock_step' : `clock_step ${ns.toString()}`);
    return BigInt(r);
  }

  /** Advances the virtual clock to `ns`; returns the new time. */
  async clockSet(ns: bigint): Promise<bigint> {
    return BigInt(await this.command(`clock_set ${ns.toString()}`));
  }

  // --- interrupts ------------------------------------------------------------

  /** Intercepts the gpio inputs of a device (e.g. `ioapic`): IRQ lines are then reported. */
  async irqInterceptIn(qomPath: string): Promise<void> {
    await this.command(`irq_intercept_in ${qomPath}`);
  }

  /** The last level reported for an intercepted line. */
  irqLevel(line: number): boolean {
    return this.irqLevels.get(line) ?? false;
  }

  // --- logs ------------------------------------------------------------------

  /** The guest-error log lines QEMU wrote so far (-d guest_errors -D file). */
  async guestErrors(): Promise<string[]> {
    try {
      const text = await readFile(this.logFile, 'utf8');
      return text.split('\n').filter((l) => l.length > 0);
    } catch {
      return [];
    }
  }

  // --- lifetime --------------------------------------------------------------

  /**
   * Asks QEMU to quit (QMP `quit`) and waits for it to exit by itself, with
   * all it writes to stderr, up to `timeoutMs`: unlike `close`, nothing cuts
   * short what runs at its exit (a LeakSanitizer check, gcov's data). Kills
   * it and throws if it does not exit in time. Removes its sockets and log.
   */
  async quit(timeoutMs: number): Promise<QemuExit> {
    if (this.closing) throw new QemuError('QEMU was closed');
    this.closing = true;
    // QEMU answers, then closes the socket; either may come first
    const answered = this.qmp.execute('quit').catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const r = await Promise.race([this.proc, timedOut]);
    clearTimeout(timer);
    this.die('quit');
    this.qmp.close();
    this.sock.destroy();
    if (r === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.proc;
      await rm(this.dir, { recursive: true, force: true });
      throw new QemuError(`QEMU did not exit within ${timeoutMs} ms of quit; QEMU stderr:\n${this.stderr.trim()}`);
    }
    await answered;
    if (this.proc.stderr) await finished(this.proc.stderr).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
    return { exitCode: r.exitCode, signal: r.signal, stderr: this.stderr };
  }

  /** Kills QEMU and removes its sockets and log. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.die('closed');
    this.qmp.close();
    this.sock.destroy();
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.proc;
    clearTimeout(timer);
    await rm(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
