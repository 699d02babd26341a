/**
 * One submitted map: its tasks' states, where their arguments are, and the log of their results
 * in completion order (what a results stream reads from a cursor, so a stream can resume).
 *
 * Without a store everything is in memory. With the durable store, arguments are read back in
 * chunks as tasks are dispatched, a result is committed before it is published, and only a
 * short tail of the log stays in memory: a million-task job costs a few bytes per task here.
 */
import type { Encoded } from '../contract/codec.js';
import type { ErrorInfo } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';
import type { Flushing, JobRow, JobStore } from './store/job-store.js';
import { UsageSummary } from './task-usage.js';
import { Emitter } from './emitter.js';
import type { JobUsage, TaskUsage } from './task-usage.js';
import type { JobStatus, RunMeta, TaskResult } from '../contract/job-types.js';

export type { JobStatus, RunMeta, TaskResult };

export const QUEUED = 0;
export const RUNNING = 1;
export const DONE = 2;

export interface JobSpec {
  id: string;
  fn: FnSpec;
  pool: string;
  total: number;
  /** Re-runs after a lost agent, or after an error the job's retryIf accepts. */
  retries: number;
  /** Agents that may die while running one task before it is failed as POISONOUS. */
  crashLimit: number;
  timeoutMs: number;
}

/** Hears a running task's partial value (`ctx.emit` on its agent): task index, attempt, value. */
export type PartialListener = (index: number, attempt: number, value: Encoded) => void;

/** Results of a durable job kept in memory past the committed log's end. */
const TAIL = 16_384;
const EMPTY8 = new Uint8Array(0);
const EMPTY16 = new Uint16Array(0);

export class Job implements Flushing {
  readonly id: string;
  readonly fn: FnSpec;
  readonly pool: string;
  readonly retries: number;
  readonly crashLimit: number;
  readonly timeoutMs: number;
  readonly total: number;
  createdAt = Date.now();
  /** When every result was published (committed, with a store). */
  finishedAt: number | undefined;
  /** When the last result was recorded. */
  completedAt: number | undefined;
  cancelled = false;
  /** Tasks whose arguments have arrived: the submitter sends them in chunks. */
  appended = 0;
  state: Uint8Array;
  /** Dispatches so far, per task. */
  attempts: Uint16Array;
  /** Agents that died while running the task. */
  crashes: Uint8Array;
  done = 0;
  failed = 0;
  running = 0;
  /** Mean task duration seen so far (ms), to size how many tasks a lane holds at once. */
  ewmaMs: number | undefined;
  /** `published`: the results log grew; `finished`: the last result is published (once). */
  readonly signals = new Emitter<{ published: Job; finished: Job }>();

  /** Memory mode: every unfinished task's argument. */
  private args: (Encoded | undefined)[] | undefined;
  /** Durable mode: the stored chunk fresh tasks are being taken from, and running tasks' arguments. */
  private window: { first: number; args: Encoded[] } | undefined;
  private readonly live = new Map<number, Encoded>();
  private nextFresh = 0;
  private retryQueue: number[] = [];
  /** The published log is [base, base + recent.length); older entries are in the store. */
  private base = 0;
  private recent: TaskResult[] = [];
  private pending: TaskResult[] = [];
  private committing: TaskResult[] = [];
  private waiters: (() => void)[] = [];
  private readonly partialListeners = new Set<PartialListener>();
  /** Where each chunk of arguments starts, and when it arrived: when its tasks were queued. */
  private readonly chunkFrom: number[] = [];
  private readonly chunkAt: number[] = [];
  private usage: UsageSummary | undefined;

  constructor(spec: JobSpec, private readonly store?: JobStore) {
    this.id = spec.id;
    this.fn = spec.fn;
    this.pool = spec.pool;
    this.retries = spec.retries;
    this.crashLimit = spec.crashLimit;
    this.timeoutMs = spec.timeoutMs;
    this.total = spec.total;
    this.state = new Uint8Array(this.total);
    this.attempts = new Uint16Array(this.total);
    this.crashes = new Uint8Array(this.total);
    if (!store) this.args = new Array(this.total);
    if (this.total === 0) this.finishedAt = this.completedAt = this.createdAt;
  }

  /** Marks the job cancelled, in the store at once: a restart must not run it again. */
  markCancelled(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.store?.markCancelled(this.id);
  }

  /** Records a new job in the store. */
  persist(): void {
    this.store?.createJob({ id: this.id, pool: this.pool, total: this.total, createdAt: this.createdAt, spec: { fn: this.fn, retries: this.retries, crashLimit: this.crashLimit, timeoutMs: this.timeoutMs } });
  }

  /**
   * A job as the store has it, after a restart: finished tasks stay finished (their results are
   * in the store), everything else is queued again.
   */
  static restore(row: JobRow, store: JobStore): Job {
    const job = new Job({ id: row.id, pool: row.pool, total: row.total, ...row.spec }, store);
    job.createdAt = row.createdAt;
    job.cancelled = row.cancelled;
    job.appended = row.appended;
    if (row.finishedAt !== undefined) {
      job.finishedAt = job.completedAt = row.finishedAt;
      job.done = row.total;
      job.failed = row.failed;
      job.base = row.total;
      job.release();
      return job;
    }
    let n = 0;
    let failed = 0;
    for (const [i, ok] of store.recordedIndices(row.id)) {
      if (!(i >= 0 && i < job.total) || job.state[i] === DONE) continue;
      job.state[i] = DONE;
      n++;
      if (!ok) failed++;
    }
    job.done = n;
    // Counted from the stored results: a large flush commits in several turns, the row's count last.
    job.failed = failed;
    job.base = n;
    return job;
  }

  get finished(): boolean {
    return this.finishedAt !== undefined;
  }

  get sealed(): boolean {
    return this.appended === this.total;
  }

  /** Tasks waiting for a lane (including those whose arguments have not arrived yet). */
  get queued(): number {
    return this.total - this.done - this.running;
  }

  /** Results published so far: the log's length. */
  get logLength(): number {
    return this.base + this.recent.length;
  }

  /** Adds the arguments of tasks [offset, offset + args.length). */
  append(offset: number, args: readonly Encoded[]): void {
    if (offset !== this.appended) throw new RangeError(`job ${this.id}: arguments must continue at task ${this.appended}, got offset ${offset}`);
    if (offset + args.length > this.total) throw new RangeError(`job ${this.id}: ${offset + args.length} arguments for ${this.total} tasks`);
    this.chunkFrom.push(offset);
    this.chunkAt.push(Date.now());
    if (this.store) this.store.appendArgs(this.id, offset, args);
    else for (let i = 0; i < args.length; i++) this.args![offset + i] = args[i];
    this.appended += args.length;
  }

  /** When task `index` was queued: when its arguments reached the controller. */
  queuedAt(index: number): number {
    const from = this.chunkFrom;
    let lo = 0;
    let hi = from.length - 1;
    if (hi < 0 || index < from[0]!) return this.createdAt;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (from[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.chunkAt[lo]!;
  }

  /** The argument of a running task. */
  arg(index: number): Encoded {
    const a = this.args ? this.args[index] : this.live.get(index);
    if (a === undefined) throw new Error(`job ${this.id}: no argument for task ${index}`);
    return a;
  }

  /**
   * The next task to dispatch, or -1; skips tasks finished meanwhile. With `rerun`, only a task
   * sent back (by a lost agent, or for retryIf): those run alone, on a lane holding nothing else.
   */
  take(rerun = false): number {
    for (;;) {
      let i: number | undefined;
      if (rerun) {
        i = this.retryQueue.pop();
        if (i === undefined) return -1;
      } else {
        if (this.nextFresh >= this.appended) return -1;
        i = this.nextFresh++;
      }
      if (this.state[i] !== QUEUED) continue;
      if (this.store && !this.live.has(i)) this.live.set(i, this.storedArg(i));
      this.state[i] = RUNNING;
      this.attempts[i]!++;
      this.running++;
      return i;
    }
  }

  private storedArg(i: number): Encoded {
    const w = this.window;
    if (!w || i < w.first || i >= w.first + w.args.length) this.window = this.store!.argsChunk(this.id, i);
    return this.window!.args[i - this.window!.first]!;
  }

  /**
   * Puts a running task back in the queue. `uncharged`: it never started, so the dispatch does
   * not count as an attempt. `crashed`: its agent died while running it.
   */
  requeue(index: number, opts: { uncharged?: boolean; crashed?: boolean } = {}): void {
    if (this.state[index] !== RUNNING) return;
    this.state[index] = QUEUED;
    this.running--;
    if (opts.uncharged) this.attempts[index]!--;
    this.retryQueue.push(index);
  }

  /** Counts a crash of an agent running task `index`; returns the count. */
  crashed(index: number): number {
    return this.crashes[index] === 255 ? 255 : ++this.crashes[index]!;
  }

  /** Records a task's outcome once; returns false for a task already finished. */
  record(result: TaskResult): boolean {
    const i = result.index;
    const st = this.state[i];
    if (st === DONE || st === undefined) return false;
    if (st === RUNNING) this.running--;
    this.state[i] = DONE;
    if (this.args) this.args[i] = undefined;
    else this.live.delete(i);
    this.done++;
    if (!result.ok) this.failed++;
    if (result.u) (this.usage ??= new UsageSummary()).add(i, result.u, result.agentId, result.host);
    if (this.done === this.total) this.completedAt = Date.now();
    this.pending.push(result);
    if (this.store) this.store.markDirty(this);
    else {
      this.drainPending();
      this.publish();
    }
    return true;
  }

  /**
   * Results recorded since the last drain, at most `max` of them (the oldest), with the log
   * offset of the first; they are committing until `publish`.
   */
  drainPending(max = Infinity): { seq: number; results: TaskResult[] } | undefined {
    if (this.pending.length === 0) return undefined;
    const seq = this.logLength + this.committing.length;
    let results = this.pending;
    if (results.length <= max) this.pending = [];
    else {
      results = this.pending.slice(0, max);
      this.pending = this.pending.slice(max);
    }
    // A loop, not push(...): a cancel can leave millions pending, more than a call takes arguments.
    for (const r of results) this.committing.push(r);
    return { seq, results };
  }

  /** Whether results wait to be drained. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  publish(): void {
    if (this.committing.length > 0) {
      for (const r of this.committing) this.recent.push(r);
      this.committing = [];
      this.signals.emit('published', this);
      if (this.store && this.recent.length > 2 * TAIL) {
        const drop = this.recent.length - TAIL;
        this.recent = this.recent.slice(drop);
        this.base += drop;
      }
    }
    if (this.completedAt !== undefined && !this.finished && this.pending.length === 0 && this.logLength === this.total) {
      this.finishedAt = this.completedAt;
      if (this.store) {
        // Everything is in the store now: keep nothing per task in memory.
        this.base = this.total;
        this.recent = [];
        this.store.dropArgs(this.id);
      }
      this.release();
      this.signals.emit('finished', this);
    }
    this.wake();
  }

  /** Frees per-task state of a finished job; late records find nothing to change. */
  private release(): void {
    this.state = EMPTY8;
    this.attempts = EMPTY16;
    this.crashes = EMPTY8;
    this.args = undefined;
    this.window = undefined;
    this.live.clear();
    this.retryQueue = [];
  }

  /** Up to `max` results of the log from offset `from` (published ones only). */
  readLog(from: number, max: number): TaskResult[] {
    const end = Math.min(this.logLength, from + max);
    if (from >= end) return [];
    if (from >= this.base) return this.recent.slice(from - this.base, end - this.base);
    return this.store!.readResults(this.id, from, Math.min(max, this.base - from));
  }

  /**
   * A running task's partial value, from its current run (the scheduler drops stale runs'):
   * handed to the partial listeners, neither stored nor part of the results log. Ignored once
   * the task is finished.
   */
  partial(index: number, attempt: number, value: Encoded): void {
    if (this.state[index] !== RUNNING || this.partialListeners.size === 0) return;
    for (const l of this.partialListeners) {
      try {
        l(index, attempt, value);
      } catch {
        // A listener's failure is its own; the others and the scheduler go on.
      }
    }
  }

  /** Calls `listener` with each partial value of this job's tasks; returns the unsubscribe. */
  onPartial(listener: PartialListener): () => void {
    this.partialListeners.add(listener);
    return () => {
      this.partialListeners.delete(listener);
    };
  }

  /** Notes a task's measured duration. */
  observe(durationMs: number): void {
    this.ewmaMs = this.ewmaMs === undefined ? durationMs : this.ewmaMs * 0.9 + durationMs * 0.1;
  }

  /**
   * Calls `onBatch` with every run of the completion log from offset `from`, now and as results
   * arrive, until the job finishes or the returned function is called. The in-process form of
   * the results subscription.
   */
  watch(from: number, onBatch: (seq: number, results: TaskResult[]) => void, onError?: (err: unknown) => void, batch = 2048): () => void {
    let cursor = from;
    let stopped = false;
    const pump = () => {
      while (!stopped && cursor < this.logLength) {
        try {
          const results = this.readLog(cursor, batch);
          cursor += results.length;
          onBatch(cursor, results);
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
      state: this.cancelled ? 'cancelled' : this.finished ? 'done' : this.sealed ? 'running' : 'submitting',
      total: this.total,
      done: this.done,
      failed: this.failed,
      running: this.running,
      queued: this.queued,
      createdAt: this.createdAt,
      finishedAt: this.finishedAt,
      usage: this.usage?.summary(),
    };
  }
}
