/**
 * What the scheduler tells the control-event stream about tasks, coalesced: per job, one `tasks`
 * batch and one `job.progress` per event-loop turn, each bounded in size, so a million-task job
 * costs a listener a few events a turn. Nothing is built while nobody listens.
 */
import type { ErrorInfo } from '../contract/errors.js';
import type { ControlEventStream, TaskBatch } from './events.js';
import type { Job, JobStatus } from './job.js';
import type { Lane } from './lane.js';

/** Started or finished entries one `tasks` event carries at most per job; the rest are counted in `omitted`. */
export const MAX_BATCH_ENTRIES = 4096;
/** Failures (with their error) one `tasks` event carries at most. */
export const MAX_BATCH_FAILURES = 20;

export class JobActivity {
  private readonly batches = new Map<Job, TaskBatch>();
  private readonly moved = new Set<Job>();
  /** Jobs that finished this turn: their `job.finished` follows their last `tasks` batch. */
  private readonly ended = new Set<Job>();
  private flushing: NodeJS.Immediate | undefined;

  constructor(
    private readonly events: ControlEventStream,
    private readonly statusOf: (job: Job) => JobStatus,
  ) {}

  /** Whether anyone listens: callers skip gathering what they would report. */
  get watched(): boolean {
    return this.events.watched;
  }

  /** A job was queued. */
  submitted(job: Job, flow?: string): void {
    if (!this.events.watched) return;
    this.events.emit('job.submitted', flow === undefined ? { job: job.id, pool: job.pool, total: job.total } : { job: job.id, pool: job.pool, total: job.total, flow });
  }

  /** A task was sent to `lane`. */
  started(job: Job, index: number, attempt: number, lane: Lane, at: number): void {
    if (!this.events.watched) return;
    const b = this.batch(job);
    if (b.started.length < MAX_BATCH_ENTRIES) b.started.push([index, attempt, lane.agentId, lane.hello.lane, at]);
    else b.omitted = (b.omitted ?? 0) + 1;
  }

  /** A task that ran on `lane` finished (or was failed there: timeout, lost agent). */
  finished(job: Job, index: number, attempt: number, lane: Lane, startedAt: number, error?: ErrorInfo): void {
    if (!this.events.watched) return;
    const b = this.batch(job);
    if (b.finished.length < MAX_BATCH_ENTRIES) b.finished.push([index, attempt, lane.agentId, lane.hello.lane, startedAt, Date.now(), error === undefined]);
    else b.omitted = (b.omitted ?? 0) + 1;
    if (error && b.failures.length < MAX_BATCH_FAILURES) b.failures.push({ index, attempt, error });
  }

  /** A task went back to the queue. */
  requeued(job: Job): void {
    if (!this.events.watched) return;
    this.batch(job).requeued++;
  }

  /** A job's counts moved. */
  progressed(job: Job): void {
    if (!this.events.watched) return;
    this.moved.add(job);
    this.schedule();
  }

  /** A job published its last result: at the end of this turn, its last batch, then `job.finished`. */
  jobFinished(job: Job): void {
    if (!this.events.watched) return;
    this.ended.add(job);
    this.schedule();
  }

  private batch(job: Job): TaskBatch {
    let b = this.batches.get(job);
    if (!b) {
      this.batches.set(job, (b = { job: job.id, started: [], finished: [], failures: [], requeued: 0 }));
      this.moved.add(job);
      this.schedule();
    }
    return b;
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = setImmediate(() => this.flush());
  }

  private flushJob(job: Job): void {
    const b = this.batches.get(job);
    if (b) {
      this.batches.delete(job);
      this.events.emit('tasks', b);
    }
    if (this.moved.delete(job) && !job.finished) this.events.emit('job.progress', { job: job.id, status: this.statusOf(job) });
  }

  /** Emits what this turn gathered, then forgets it (nothing is kept for a stream nobody reads). */
  flush(): void {
    this.flushing = undefined;
    for (const job of [...this.batches.keys(), ...this.moved]) this.flushJob(job);
    const ended = [...this.ended];
    this.ended.clear();
    for (const job of ended) this.events.emit('job.finished', { job: job.id, status: this.statusOf(job) });
  }
}
