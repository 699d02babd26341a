/**
 * Task duration estimates per function (ms), so a new job of a function seen before fills lanes'
 * windows from its first task instead of one task per lane per round trip. Bounded: the
 * estimates of the functions least recently seen are forgotten.
 */
import type { Job } from './job.js';

/** Functions whose task duration estimate is kept. */
const MAX_FN_ESTIMATES = 1024;

export class FnEstimates {
  private readonly byFn = new Map<string, number>();
  /** The function noted last: already the newest entry, so noting it again needs no move. */
  private last: string | undefined;

  /** The job's own estimate, else its function's, else Infinity (unknown). */
  of(job: Job): number {
    return job.ewmaMs ?? this.byFn.get(job.fn.id) ?? Infinity;
  }

  /** Remembers a job's estimate for its function. */
  note(job: Job): void {
    if (job.ewmaMs === undefined) return;
    // Thousands of jobs of one function (single-task maps) update its entry in place.
    if (job.fn.id === this.last) {
      this.byFn.set(job.fn.id, job.ewmaMs);
      return;
    }
    this.last = job.fn.id;
    if (!this.byFn.delete(job.fn.id) && this.byFn.size >= MAX_FN_ESTIMATES) this.byFn.delete(this.byFn.keys().next().value!);
    this.byFn.set(job.fn.id, job.ewmaMs);
  }
}
