/**
 * The library's own spans for a trace (`ossa trace`): each SUBMIT call and
 * each wait, with CLOCK_MONOTONIC times, written as JSON when the process
 * exits to OSSA_TRACE_SPANS/spans-PID.json. Off unless that variable names
 * a folder when the library loads; off, a span costs one comparison.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';

export type SpanKind = 'submit' | 'wait' | 'buffer-wait';

/** One span, as the file holds it. */
export interface Span {
  kind: SpanKind;
  /** CLOCK_MONOTONIC, ns. */
  begin: number;
  end: number;
  /** For a submit: its number in this process (from 1); for a wait on a Fence: its submit's; else 0. */
  seq: number;
  /** For a submit: how many jobs it queued. */
  jobs: number;
  /** The thread: Node's threadId (0 for the main thread, whose kernel tid is the pid). */
  thread: number;
}

/** What spans-PID.json holds. */
export interface SpanFile {
  pid: number;
  spans: Span[];
}

class SpanRecorder {
  readonly #spans: Span[] = [];
  #seq = 0;

  constructor(readonly dir: string) {
    process.once('exit', () => this.#write());
  }

  /** CLOCK_MONOTONIC now, ns. */
  now(): number {
    return Number(process.hrtime.bigint());
  }

  /** The next submit's number. */
  nextSeq(): number {
    return ++this.#seq;
  }

  add(kind: SpanKind, begin: number, seq: number, jobs = 0): void {
    this.#spans.push({ kind, begin, end: this.now(), seq, jobs, thread: isMainThread ? 0 : threadId });
  }

  #write(): void {
    const file: SpanFile = { pid: process.pid, spans: this.#spans };
    const name = isMainThread ? `spans-${process.pid}.json` : `spans-${process.pid}-${threadId}.json`;
    try {
      writeFileSync(join(this.dir, name), JSON.stringify(file));
    } catch (err) {
      process.stderr.write(`ossa: could not write the trace's library spans to ${this.dir}: ${(err as Error).message}\n`);
    }
  }
}

/** The recorder, when this process is traced. */
export const spans: SpanRecorder | undefined = process.env.OSSA_TRACE_SPANS ? new SpanRecorder(process.env.OSSA_TRACE_SPANS) : undefined;
