/**
 * A durable job's result log. A result is appended to a pending list; the store commits pending
 * results of every job in one transaction at the end of the turn (JobStore.flush, in parts for a
 * cancel of millions) and only then makes them readable. Only a short tail of the committed log
 * stays in memory: older results are read back from the store.
 */
import type { TaskResult } from '../jobs/types.js';
import { LogWaiters } from '../jobs/result-log.js';
import type { ResultLog } from '../jobs/result-log.js';
import type { Flushing, JobProgress, JobStore } from './job-store.js';

/** Results kept in memory past the committed log's end. */
const TAIL = 16_384;

/** What a restarted controller found stored for an unfinished job. */
export interface StoredCounts {
  /** Results committed. */
  length: number;
  /** Of them, failures. */
  failed: number;
}

export class StoredResultLog implements ResultLog, Flushing {
  /** Committed results are [base, base + recent.length); older ones are only in the store. */
  private base: number;
  private recent: TaskResult[] = [];
  private pending: TaskResult[] = [];
  private committing: TaskResult[] = [];
  private readonly waiters = new LogWaiters();
  /** Results appended (committed or not), and how many failed: the job's row counts. */
  private appended: number;
  private failures: number;
  private completedAt: number | undefined;

  /**
   * `committed` runs after each commit made results readable, before readers are woken.
   * `restored`: what the store already holds of this job (after a restart).
   */
  constructor(
    private readonly store: JobStore,
    readonly jobId: string,
    private readonly total: number,
    private readonly committed: () => void,
    restored: StoredCounts = { length: 0, failed: 0 },
  ) {
    this.base = this.appended = restored.length;
    this.failures = restored.failed;
  }

  get length(): number {
    return this.base + this.recent.length;
  }

  get ended(): boolean {
    return this.waiters.ended;
  }

  append(result: TaskResult): void {
    this.pending.push(result);
    this.appended++;
    if (!result.ok) this.failures++;
    if (this.appended === this.total) this.completedAt = Date.now();
    // The first result since the last drain marks the log; a flush that leaves some re-marks it.
    if (this.pending.length === 1) this.store.markDirty(this);
  }

  read(from: number, max: number): TaskResult[] {
    const end = Math.min(this.length, from + max);
    if (from >= end) return [];
    if (from >= this.base) return this.recent.slice(from - this.base, end - this.base);
    const stored = this.store.readResults(this.jobId, from, Math.min(max, this.base - from));
    // Reached the tail in memory (kept until the end of the turn in which the job ended): go on there.
    if (end > this.base && from + stored.length === this.base) for (let i = 0; i < end - this.base; i++) stored.push(this.recent[i]!);
    return stored;
  }

  changed(): Promise<void> {
    return this.waiters.changed();
  }

  onChange(fn: () => void): void {
    this.waiters.onChange(fn);
  }

  end(): void {
    this.waiters.end();
    // Everything is in the store now: keep nothing per task in memory, once the readers woken
    // now have read the tail (a finished single-task map's result read back from SQLite cost
    // ~15 µs of the controller's CPU).
    if (this.recent.length > 0) trimSoon(this);
  }

  /** @internal Drops the tail kept in memory (the job ended). */
  trim(): void {
    this.base = this.length;
    this.recent = [];
  }

  /** Up to `max` results appended since the last drain (the oldest), with the log offset of the first. */
  drainPending(max = Infinity): { seq: number; results: TaskResult[] } | undefined {
    if (this.pending.length === 0) return undefined;
    const seq = this.length + this.committing.length;
    let results = this.pending;
    if (results.length <= max) this.pending = [];
    else {
      results = this.pending.slice(0, max);
      this.pending = this.pending.slice(max);
    }
    if (this.committing.length === 0) this.committing = results;
    // A loop, not push(...): a cancel can leave millions pending, more than a call takes arguments.
    else for (const r of results) this.committing.push(r);
    return { seq, results };
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  progress(): JobProgress {
    return { done: this.appended, failed: this.failures, finishedAt: this.completedAt };
  }

  /** What was drained is committed: it may be read now. */
  publish(): void {
    if (this.committing.length > 0) {
      if (this.recent.length === 0) this.recent = this.committing;
      else for (const r of this.committing) this.recent.push(r);
      this.committing = [];
      if (this.recent.length > 2 * TAIL) {
        const drop = this.recent.length - TAIL;
        this.recent = this.recent.slice(drop);
        this.base += drop;
      }
    }
    this.committed();
    this.waiters.wake();
  }
}

/** Ended logs whose tails go at the end of this turn of the event loop (one timer for all). */
let ending: StoredResultLog[] = [];

function trimSoon(log: StoredResultLog): void {
  if (ending.length === 0)
    setImmediate(() => {
      const logs = ending;
      ending = [];
      for (const l of logs) l.trim();
    });
  ending.push(log);
}
