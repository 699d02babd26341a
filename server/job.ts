/**
 * One submitted map, composed of three parts: its task table (server/jobs/task-table.ts), where
 * its arguments are (server/jobs/arguments.ts) and the log of its results in completion order
 * (server/jobs/result-log.ts), which a results stream reads from a cursor, so it can resume.
 *
 * Without a store everything is in memory. With the durable store, arguments are read back in
 * chunks as tasks are dispatched, a result is committed before it is readable, and only a short
 * tail of the log stays in memory: a million-task job costs a few bytes per task here.
 */
import type { Encoded } from '../contract/codec.js';
import type { ErrorInfo } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';
import type { JobRow, JobStore } from './store/job-store.js';
import { StoredArguments } from './store/stored-arguments.js';
import { StoredResultLog } from './store/stored-result-log.js';
import { MemoryArguments } from './jobs/arguments.js';
import type { ArgumentSource } from './jobs/arguments.js';
import { MemoryResultLog, readFrom, subscribe } from './jobs/result-log.js';
import type { LogBatch, ReadOptions, ResultLog } from './jobs/result-log.js';
import { RUNNING, TaskTable } from './jobs/task-table.js';
import type { PerTask, RestRange } from './jobs/task-table.js';
import { UsageTally } from './task-usage.js';
import { Emitter } from './emitter.js';
import type { JobSpec, JobStatus, PartialListener, TaskResult } from './jobs/types.js';

export { QUEUED, RUNNING, DONE } from './jobs/task-table.js';

export type { JobSpec, JobStatus, PartialListener, RunMeta, TaskResult } from './jobs/types.js';

/** Told of a job's progress and end; one object serves every job (a scheduler's, a controller's). */
export interface JobWatcher {
  /** The job's results log grew. */
  published(job: Job): void;
  /** The job's last result is readable (once). */
  finished(job: Job): void;
}

export class Job {
  readonly id: string;
  readonly fn: FnSpec;
  readonly pool: string;
  readonly retries: number;
  readonly crashLimit: number;
  readonly timeoutMs: number;
  readonly total: number;
  readonly createdAt: number;
  /** When every result was readable (committed, with a store). */
  finishedAt: number | undefined;
  /** When the last result was recorded. */
  completedAt: number | undefined;
  cancelled = false;
  /** Mean task duration seen so far (ms), to size how many tasks a lane holds at once. */
  ewmaMs: number | undefined;
  /** Parties told of every job's progress and end (the scheduler, the controller): shared objects, none made per job. */
  #watchers: JobWatcher | JobWatcher[] | undefined;
  /** Made when someone first listens. */
  #signals: Emitter<{ published: Job; finished: Job }> | undefined;

  readonly tasks: TaskTable;
  readonly log: ResultLog;
  private readonly args: ArgumentSource;
  private partialListeners: Set<PartialListener> | undefined;
  private usage: UsageTally | undefined;
  /** The log's length when `published` was last emitted. */
  private shown = 0;

  /**
   * A new job, in memory or, with `store`, durable. `restored`: its task table as a restarted
   * controller rebuilt it from the stored results.
   */
  constructor(spec: JobSpec, private readonly store?: JobStore, restored?: { createdAt: number; tasks: TaskTable }) {
    this.id = spec.id;
    this.fn = spec.fn;
    this.pool = spec.pool;
    this.retries = spec.retries;
    this.crashLimit = spec.crashLimit;
    this.timeoutMs = spec.timeoutMs;
    this.total = spec.total;
    this.createdAt = restored?.createdAt ?? Date.now();
    this.tasks = restored?.tasks ?? new TaskTable(this.total, this.createdAt);
    // The one place the two kinds differ: which argument source and which result log.
    this.args = store ? new StoredArguments(store, this.id) : new MemoryArguments(this.total);
    this.log = store ? new StoredResultLog(store, this.id, this.total, () => this.committed(), { length: this.tasks.done, failed: this.tasks.failed }) : new MemoryResultLog(this);
    if (this.total === 0) {
      this.finishedAt = this.completedAt = this.createdAt;
      this.log.end();
    }
  }

  /** `published`: the results log grew; `finished`: the last result is readable (once). */
  get signals(): Emitter<{ published: Job; finished: Job }> {
    return (this.#signals ??= new Emitter());
  }

  /** Tells `w` of this job's progress and end, as `signals` does, with no listener made per job. */
  notify(w: JobWatcher): void {
    // One or two watchers (the usual scheduler and controller) take no growable list.
    const ws = this.#watchers;
    this.#watchers = ws === undefined ? w : Array.isArray(ws) ? [...ws, w] : [ws, w];
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
   * in the store, and the counts are rebuilt from them), everything else is queued again.
   */
  static restore(row: JobRow, store: JobStore): Job {
    const tasks = new TaskTable(row.total, row.createdAt);
    tasks.extend(row.appended, row.createdAt);
    if (row.finishedAt !== undefined) tasks.finishAll(row.failed);
    // Counted from the stored results: a large flush commits in several turns, the row's count last.
    else for (const [i, ok] of store.recordedIndices(row.id)) tasks.finish(i, ok);
    const job = new Job({ id: row.id, pool: row.pool, total: row.total, ...row.spec }, store, { createdAt: row.createdAt, tasks });
    job.cancelled = row.cancelled;
    if (row.finishedAt !== undefined) {
      job.finishedAt = job.completedAt = row.finishedAt;
      job.log.end();
    }
    return job;
  }

  get finished(): boolean {
    return this.finishedAt !== undefined;
  }

  get sealed(): boolean {
    return this.tasks.sealed;
  }

  /** Tasks whose arguments have arrived: the submitter sends them in chunks. */
  get appended(): number {
    return this.tasks.appended;
  }

  get done(): number {
    return this.tasks.done;
  }

  get failed(): number {
    return this.tasks.failed;
  }

  get running(): number {
    return this.tasks.running;
  }

  /** Tasks waiting for a lane (including those whose arguments have not arrived yet). */
  get queued(): number {
    return this.tasks.queued;
  }

  /** QUEUED, RUNNING or DONE per task (empty once the job finished). */
  get state(): PerTask {
    return this.tasks.state;
  }

  /** Dispatches so far, per task. */
  get attempts(): PerTask {
    return this.tasks.attempts;
  }

  /** Results readable so far: the log's length. */
  get logLength(): number {
    return this.log.length;
  }

  /** Adds the arguments of tasks [offset, offset + args.length). */
  append(offset: number, args: readonly Encoded[]): void {
    if (offset !== this.appended) throw new RangeError(`job ${this.id}: arguments must continue at task ${this.appended}, got offset ${offset}`);
    if (offset + args.length > this.total) throw new RangeError(`job ${this.id}: ${offset + args.length} arguments for ${this.total} tasks`);
    this.args.append(offset, args);
    this.tasks.extend(args.length);
  }

  /** When task `index` was queued: when its arguments reached the controller. */
  queuedAt(index: number): number {
    return this.tasks.queuedAt(index);
  }

  /** The argument of a running task. */
  arg(index: number): Encoded {
    const a = this.args.get(index);
    if (a === undefined) throw new Error(`job ${this.id}: no argument for task ${index}`);
    return a;
  }

  /**
   * The next task to dispatch, or -1; skips tasks finished meanwhile. With `rerun`, only a task
   * sent back (by a lost agent, or for retryIf): those run alone, on a lane holding nothing else.
   */
  take(rerun = false): number {
    return this.tasks.take(rerun, this.args);
  }

  /**
   * Puts a running task back in the queue. `uncharged`: it never started, so the dispatch does
   * not count as an attempt. `crashed`: its agent died while running it.
   */
  requeue(index: number, opts: { uncharged?: boolean; crashed?: boolean } = {}): void {
    this.tasks.requeue(index, opts);
  }

  /** Counts a crash of an agent running task `index`; returns the count. */
  crashed(index: number): number {
    return this.tasks.crashed(index);
  }

  /** Records a task's outcome once; returns false for a task already finished. */
  record(result: TaskResult): boolean {
    const i = result.index;
    if (!this.tasks.finish(i, result.ok)) return false;
    this.args.drop(i);
    if (result.u) (this.usage ??= new UsageTally()).add(i, result.u, result.agentId, result.host);
    if (this.tasks.done === this.total) this.completedAt = Date.now();
    this.log.append(result);
    return true;
  }

  /**
   * Fails every unfinished task of the range with `error` (one object shared by all: results
   * carry their index); returns how many were failed.
   */
  failRest(error: ErrorInfo, range?: RestRange): number {
    return this.tasks.failRest((index) => this.record({ index, ok: false, error }), range);
  }

  /** @internal Results became readable (its log calls this): once all are, the job is finished. */
  committed(): void {
    if (this.log.length > this.shown) {
      this.shown = this.log.length;
      const ws = this.#watchers;
      if (Array.isArray(ws)) for (const w of ws) w.published(this);
      else ws?.published(this);
      this.#signals?.emit('published', this);
    }
    if (this.completedAt === undefined || this.finished || this.log.length !== this.total) return;
    this.finishedAt = this.completedAt;
    this.tasks.release();
    this.args.discard();
    this.log.end();
    const ws = this.#watchers;
    if (Array.isArray(ws)) for (const w of ws) w.finished(this);
    else ws?.finished(this);
    this.#signals?.emit('finished', this);
  }

  /** Up to `max` results of the log from offset `from` (readable ones only). */
  readLog(from: number, max: number): TaskResult[] {
    return this.log.read(from, max);
  }

  /** The log from offset `from`, batch by batch, as it grows (server/jobs/result-log.ts readFrom). */
  results(from: number, opts?: ReadOptions): AsyncGenerator<LogBatch, void, undefined> {
    return readFrom(this.log, from, opts);
  }

  /**
   * A running task's partial value, from its current run (the scheduler drops stale runs'):
   * handed to the partial listeners, neither stored nor part of the results log. Ignored once
   * the task is finished.
   */
  partial(index: number, attempt: number, value: Encoded): void {
    if (this.tasks.state[index] !== RUNNING || !this.partialListeners) return;
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
    (this.partialListeners ??= new Set()).add(listener);
    return () => {
      this.partialListeners?.delete(listener);
      if (this.partialListeners?.size === 0) this.partialListeners = undefined;
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
    return subscribe(this.log, from, onBatch, onError, batch);
  }

  /** Resolves when the log grows or the job finishes. */
  changed(): Promise<void> {
    return this.log.changed();
  }

  /** Calls `fn` once when the log grows or the job finishes (a results stream's wait, without a promise per job). */
  onChange(fn: () => void): void {
    this.log.onChange(fn);
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
