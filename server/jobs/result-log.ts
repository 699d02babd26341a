/**
 * A job's result log: each task's outcome once, in completion order, readable from any offset
 * while it grows (a results stream resumes from the offset it reached). Results are appended as
 * they are recorded and become readable when committed: at once in memory, after the next flush
 * with the durable store (server/store/stored-result-log.ts), so no one is shown a result a crash
 * could lose.
 */
import { Waiters } from '../../contract/waiters.js';
import type { TaskResult } from './types.js';

/**
 * The results of one job, in the order they were recorded.
 *
 * The seam between running work and reading it: the dispatch side (scheduler, lanes, task
 * table) only appends, and every reader (the results subscription, flows) only reads from an
 * offset and waits for growth. A controller could be split along it: an API tier serving logs
 * from the store (committed results are rows in SQLite, which another process can read), a
 * dispatch tier owning the lanes and appending.
 */
export interface ResultLog {
  /** Results readable so far (committed): the offset the next committed result takes. */
  readonly length: number;
  /** No result will be added any more: readers at the end stop. */
  readonly ended: boolean;
  /** Adds a result (the caller records each task once); readable once committed. */
  append(result: TaskResult): void;
  /** Up to `max` readable results from offset `from` (fewer for a slow reader of large stored results). */
  read(from: number, max: number): TaskResult[];
  /** Resolves when the log grows or ends. */
  changed(): Promise<void>;
  /** Calls `fn` once when the log grows or ends (soon, if it has ended): `changed` without a promise. */
  onChange(fn: () => void): void;
  /** The job finished: every result is in; the log may keep less in memory now. */
  end(): void;
}

/** Logs with readers to wake at the end of this turn: one microtask for all of them, not one each. */
let due: LogWaiters[] = [];

function wakeDue(): void {
  const list = due;
  due = [];
  for (const w of list) w.fire();
}

/** Readers waiting for a log to change, woken together once per turn of microtasks. */
export class LogWaiters {
  readonly #waiters = new Waiters();
  #queued = false;
  ended = false;

  changed(): Promise<void> {
    return this.ended ? Promise.resolve() : this.#waiters.wait();
  }

  onChange(fn: () => void): void {
    if (this.ended) queueMicrotask(fn);
    else this.#waiters.add(fn);
  }

  wake(): void {
    if (this.#queued || this.#waiters.size === 0) return;
    // Batch wake-ups: many results recorded in one frame wake a stream once.
    this.#queued = true;
    if (due.length === 0) queueMicrotask(wakeDue);
    due.push(this);
  }

  /** @internal Wakes the readers (the end of the turn in which the log changed). */
  fire(): void {
    this.#queued = false;
    this.#waiters.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }
}

/** A job's results in memory, all of them: committed as they are appended. */
export class MemoryResultLog implements ResultLog {
  private readonly results: TaskResult[] = [];
  private readonly waiters = new LogWaiters();

  /** `owner.committed` runs after each result becomes readable, before readers are woken. */
  constructor(private readonly owner: { committed(): void }) {}

  get length(): number {
    return this.results.length;
  }

  get ended(): boolean {
    return this.waiters.ended;
  }

  append(result: TaskResult): void {
    this.results.push(result);
    this.owner.committed();
    this.waiters.wake();
  }

  read(from: number, max: number): TaskResult[] {
    return this.results.slice(from, Math.min(this.results.length, from + max));
  }

  changed(): Promise<void> {
    return this.waiters.changed();
  }

  onChange(fn: () => void): void {
    this.waiters.onChange(fn);
  }

  end(): void {
    this.waiters.end();
  }
}

/** One batch a reader gets: its results and the offset after them (where to resume). */
export interface LogBatch {
  seq: number;
  results: TaskResult[];
}

export interface ReadOptions {
  /** Results per batch, at most (default 2048). */
  max?: number;
  /** How many of a batch's results to hand over (a byte budget); at least one is. */
  trim?: (results: TaskResult[]) => number;
  /** The reader is gone: stop at once. */
  signal?: AbortSignal;
  /** Stop waiting once caught up (the controller closing); what is readable is still read. */
  until?: AbortSignal;
}

/**
 * The log from offset `from`, batch by batch, now and as it grows, until it ends or the reader
 * stops. The one pump from a log to a reader: a batch is read only when the reader asks for the
 * next, so a slow reader holds nothing back but itself (backpressure).
 */
export async function* readFrom(log: ResultLog, from: number, opts: ReadOptions = {}): AsyncGenerator<LogBatch, void, undefined> {
  const max = opts.max ?? 2048;
  let cursor = from;
  while (!opts.signal?.aborted) {
    if (cursor < log.length) {
      const read = log.read(cursor, max);
      if (read.length === 0) throw new Error(`the result log lost its results from offset ${cursor} (its length is ${log.length})`);
      const results = opts.trim && read.length > 1 ? read.slice(0, Math.max(1, opts.trim(read))) : read;
      cursor += results.length;
      yield { seq: cursor, results };
      continue;
    }
    if (log.ended || opts.until?.aborted) return;
    await untilAny(log.changed(), opts.signal, opts.until);
  }
}

/**
 * Calls `onBatch` with every batch of the log from offset `from`, now and as results arrive,
 * until the log ends or the returned function is called. A consumer's failure ends its
 * subscription (reported to `onError`), never the controller's process.
 */
export function subscribe(log: ResultLog, from: number, onBatch: (seq: number, results: TaskResult[]) => void, onError?: (err: unknown) => void, max = 2048): () => void {
  const stop = new AbortController();
  void (async () => {
    try {
      for await (const b of readFrom(log, from, { max, signal: stop.signal })) onBatch(b.seq, b.results);
    } catch (err) {
      if (!stop.signal.aborted) onError?.(err);
    }
  })();
  return () => stop.abort();
}

/** `p`, or the first of these signals to abort; listeners are removed either way. */
function untilAny(p: Promise<void>, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  if (live.length === 0) return p;
  if (live.some((s) => s.aborted)) return Promise.resolve();
  let on = () => {};
  const abort = new Promise<void>((resolve) => {
    on = () => resolve();
    for (const s of live) s.addEventListener('abort', on, { once: true });
  });
  return Promise.race([p, abort]).finally(() => {
    for (const s of live) s.removeEventListener('abort', on);
  });
}
