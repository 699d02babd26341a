/**
 * One submitted map: its tasks' arguments, states and results. Results are kept twice by
 * reference: by input index (for `await`) and in completion order (the log a results stream
 * reads from a cursor, which is what makes the stream resumable).
 */
import type { Encoded } from '../agent/protocol/codec.js';
import type { ErrorInfo } from '../agent/protocol/errors.js';
import type { FnSpec } from '../agent/protocol/fnspec.js';

/** One task's outcome, as the controller records it and streams it to clients. */
export type TaskResult = { index: number; ok: true; value: Encoded } | { index: number; ok: false; error: ErrorInfo };

export const QUEUED = 0;
export const RUNNING = 1;
export const DONE = 2;

/** What a job's status query returns. */
export interface JobStatus {
  id: string;
  pool: string;
  state: 'running' | 'done' | 'cancelled';
  total: number;
  done: number;
  failed: number;
  running: number;
  queued: number;
  createdAt: number;
  finishedAt: number | undefined;
}

export interface JobSpec {
  id: string;
  fn: FnSpec;
  args: Encoded[];
  pool: string;
  retries: number;
  timeoutMs: number;
}

export class Job {
  readonly id: string;
  readonly fn: FnSpec;
  readonly pool: string;
  readonly retries: number;
  readonly timeoutMs: number;
  readonly total: number;
  readonly createdAt = Date.now();
  finishedAt: number | undefined;
  cancelled = false;
  /** Arguments of unfinished tasks; freed as each task finishes. */
  readonly args: (Encoded | undefined)[];
  readonly state: Uint8Array;
  /** Dispatches so far, per task. */
  readonly attempts: Uint16Array;
  readonly results: (TaskResult | undefined)[];
  /** Results in completion order; a stream's cursor is an offset into it. */
  readonly log: TaskResult[] = [];
  done = 0;
  failed = 0;
  running = 0;
  /** Mean task duration seen so far (ms), to size how many tasks a lane holds at once. */
  ewmaMs: number | undefined;
  private queue: number[];
  private qHead = 0;
  private retryQueue: number[] = [];
  private waiters: (() => void)[] = [];
  /** Called once, when the last task is recorded. */
  onFinish: ((job: Job) => void) | undefined;

  constructor(spec: JobSpec) {
    this.id = spec.id;
    this.fn = spec.fn;
    this.pool = spec.pool;
    this.retries = spec.retries;
    this.timeoutMs = spec.timeoutMs;
    this.total = spec.args.length;
    this.args = spec.args;
    this.state = new Uint8Array(this.total);
    this.attempts = new Uint16Array(this.total);
    this.results = new Array(this.total);
    this.queue = Array.from({ length: this.total }, (_, i) => i);
    if (this.total === 0) this.finishedAt = this.createdAt;
  }

  get finished(): boolean {
    return this.finishedAt !== undefined;
  }

  /** Tasks waiting for a lane (the queues may still hold entries finished meanwhile: not these). */
  get queued(): number {
    return this.total - this.done - this.running;
  }

  /** The next task to dispatch (re-runs first), or -1. Skips tasks finished meanwhile. */
  take(): number {
    for (;;) {
      let i: number | undefined = this.retryQueue.pop();
      if (i === undefined) {
        if (this.qHead >= this.queue.length) return -1;
        i = this.queue[this.qHead++]!;
        if (this.qHead > 4096 && this.qHead * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.qHead);
          this.qHead = 0;
        }
      }
      if (this.state[i] === QUEUED) {
        this.state[i] = RUNNING;
        this.attempts[i]!++;
        this.running++;
        return i;
      }
    }
  }

  /**
   * Puts a running task back in the queue (its agent was lost). `uncharged`: it never started,
   * so the dispatch does not count as an attempt.
   */
  requeue(index: number, opts: { uncharged?: boolean } = {}): void {
    if (this.state[index] !== RUNNING) return;
    this.state[index] = QUEUED;
    this.running--;
    if (opts.uncharged) this.attempts[index]!--;
    this.retryQueue.push(index);
  }

  /** Records a task's outcome once; returns false for a task already finished. */
  record(result: TaskResult): boolean {
    const i = result.index;
    const st = this.state[i];
    if (st === DONE || st === undefined) return false;
    if (st === RUNNING) this.running--;
    this.state[i] = DONE;
    this.args[i] = undefined;
    this.results[i] = result;
    this.log.push(result);
    this.done++;
    if (!result.ok) this.failed++;
    if (this.done === this.total) {
      this.finishedAt = Date.now();
      this.onFinish?.(this);
    }
    this.wake();
    return true;
  }

  /** Notes a task's measured duration. */
  observe(durationMs: number): void {
    this.ewmaMs = this.ewmaMs === undefined ? durationMs : this.ewmaMs * 0.9 + durationMs * 0.1;
  }

  /**
   * Calls `onBatch` with every run of the completion log from offset `from`, now and as results
   * arrive, until the job finishes or the returned function is called. The in-process form of
   * the results subscription: no generator, no copies beyond the batch slice.
   */
  watch(from: number, onBatch: (seq: number, results: TaskResult[]) => void, onError?: (err: unknown) => void, batch = 2048): () => void {
    let cursor = from;
    let stopped = false;
    const pump = () => {
      while (!stopped && cursor < this.log.length) {
        const end = Math.min(this.log.length, cursor + batch);
        const results = this.log.slice(cursor, end);
        cursor = end;
        try {
          onBatch(end, results);
        } catch (err) {
          // A consumer's failure ends its watch, never the controller's process.
          stopped = true;
          onError?.(err);
        }
      }
      if (!stopped && !this.finished) void this.changed().then(pump);
    };
    pump();
    return () => {
      stopped = true;
    };
  }

  /** Resolves when the log grows or the job finishes. */
  changed(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    // Batch wake-ups: many results recorded in one frame wake a stream once.
    queueMicrotask(() => w.forEach((f) => f()));
  }

  status(): JobStatus {
    return {
      id: this.id,
      pool: this.pool,
      state: this.cancelled ? 'cancelled' : this.finished ? 'done' : 'running',
      total: this.total,
      done: this.done,
      failed: this.failed,
      running: this.running,
      queued: this.queued,
      createdAt: this.createdAt,
      finishedAt: this.finishedAt,
    };
  }
}
