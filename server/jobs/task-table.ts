/**
 * A job's task table: each task's state, dispatch count and crash count, the queue of tasks sent
 * back, and how many tasks' arguments have arrived. Typed arrays, a few bytes per task, so a job
 * of millions of tasks stays small; freed as a whole when the job finishes.
 */

export const QUEUED = 0;
export const RUNNING = 1;
export const DONE = 2;

const EMPTY8 = new Uint8Array(0);
const EMPTY16 = new Uint16Array(0);

/** A number per task: a typed array, or for a few tasks a plain list (smaller than a typed array with its buffer). */
export type PerTask = { [index: number]: number; readonly length: number; [Symbol.iterator](): Iterator<number> };

/** Jobs of at most this many tasks (single-task maps, by the thousand) keep their per-task numbers in plain lists. */
const SMALL = 8;

function perTask(total: number, Typed: Uint8ArrayConstructor | Uint16ArrayConstructor): PerTask {
  return total <= SMALL ? new Array<number>(total).fill(0) : new Typed(total);
}

/** Which unfinished tasks `failRest` fails. */
export interface RestRange {
  /** First task (default 0). */
  from?: number;
  /** End, exclusive (default the job's total). */
  to?: number;
  /** Only tasks waiting for a lane: running ones are left to finish. */
  queuedOnly?: boolean;
}

export class TaskTable {
  /** QUEUED, RUNNING or DONE per task; empty once released. */
  state: PerTask;
  /** Dispatches so far, per task. */
  attempts: PerTask;
  /** Agents that died while running the task; made at the first crash. */
  private crashes: Uint8Array | undefined;
  /** Tasks whose arguments have arrived (the first `appended`): only those can be taken. */
  appended = 0;
  done = 0;
  failed = 0;
  running = 0;
  private nextFresh = 0;
  /** Made at the first task sent back. */
  private retryQueue: number[] | undefined;
  /** Where each chunk of arguments starts, and when it arrived: when its tasks were queued. */
  private chunkFrom: number[] | undefined;
  private chunkAt: number[] | undefined;

  constructor(readonly total: number, private readonly createdAt: number) {
    this.state = perTask(total, Uint8Array);
    this.attempts = perTask(total, Uint16Array);
  }

  /** Every argument has arrived. */
  get sealed(): boolean {
    return this.appended === this.total;
  }

  /** Tasks waiting for a lane (including those whose arguments have not arrived yet). */
  get queued(): number {
    return this.total - this.done - this.running;
  }

  /** The arguments of the next `count` tasks arrived (at `at`): they may be taken. */
  extend(count: number, at = Date.now()): void {
    // Most jobs arrive in one chunk: lists of one, grown only for more.
    if (!this.chunkFrom || !this.chunkAt) {
      this.chunkFrom = [this.appended];
      this.chunkAt = [at];
    } else {
      this.chunkFrom.push(this.appended);
      this.chunkAt.push(at);
    }
    this.appended += count;
  }

  /** When task `index` was queued: when its arguments arrived. */
  queuedAt(index: number): number {
    const from = this.chunkFrom;
    if (!from || !this.chunkAt || index < from[0]!) return this.createdAt;
    let lo = 0;
    let hi = from.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (from[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.chunkAt[lo]!;
  }

  /**
   * The next task to dispatch, or -1; skips tasks finished meanwhile. With `rerun`, only a task
   * sent back (by a lost agent, or for retryIf). `ready.hold` runs first (to fetch its argument): if
   * it throws, the task stays queued and uncharged.
   */
  take(rerun: boolean, ready?: { hold(index: number): void }): number {
    for (;;) {
      let i: number | undefined;
      if (rerun) {
        i = this.retryQueue?.pop();
        if (i === undefined) return -1;
      } else {
        if (this.nextFresh >= this.appended) return -1;
        i = this.nextFresh++;
      }
      if (this.state[i] !== QUEUED) continue;
      ready?.hold(i);
      this.state[i] = RUNNING;
      this.attempts[i]!++;
      this.running++;
      return i;
    }
  }

  /**
   * Puts a running task back in the queue. `uncharged`: it never started, so the dispatch does
   * not count as an attempt.
   */
  requeue(index: number, opts: { uncharged?: boolean } = {}): void {
    if (this.state[index] !== RUNNING) return;
    this.state[index] = QUEUED;
    this.running--;
    if (opts.uncharged) this.attempts[index]!--;
    (this.retryQueue ??= []).push(index);
  }

  /** Counts a crash of an agent running task `index`; returns the count. */
  crashed(index: number): number {
    const crashes = (this.crashes ??= new Uint8Array(this.total));
    return crashes[index] === 255 ? 255 : ++crashes[index]!;
  }

  /** Marks a task finished; false when it already was (or is out of range, or the table released). */
  finish(index: number, ok: boolean): boolean {
    const st = this.state[index];
    if (st === DONE || st === undefined) return false;
    if (st === RUNNING) this.running--;
    this.state[index] = DONE;
    this.done++;
    if (!ok) this.failed++;
    return true;
  }

  /**
   * Calls `fail` for every unfinished task of the range, in order, while the table holds tasks
   * (a job that finishes midway releases it); returns how many calls returned true. The one way
   * to end what is left of a job: cancel, a pool that gives up, a submitter that went away, a
   * controller that closes.
   */
  failRest(fail: (index: number) => boolean, range: RestRange = {}): number {
    const to = Math.min(range.to ?? this.total, this.total);
    let n = 0;
    for (let i = Math.max(0, range.from ?? 0); i < to && this.state.length > 0; i++) {
      const st = this.state[i];
      if (st === DONE || (range.queuedOnly && st !== QUEUED)) continue;
      if (fail(i)) n++;
    }
    return n;
  }

  /** Every task finished before a restart (a finished job restored): counts only, no per-task state. */
  finishAll(failed: number): void {
    this.done = this.total;
    this.failed = failed;
    this.running = 0;
    this.release();
  }

  /** Frees per-task state of a finished job; late results find nothing to change. */
  release(): void {
    this.state = EMPTY8;
    this.attempts = EMPTY16;
    this.crashes = undefined;
    this.retryQueue = undefined;
  }
}
