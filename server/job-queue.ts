/**
 * Jobs with queued tasks, taken round-robin so a big job cannot starve a small one; a job whose
 * queue is empty drops out until it has tasks again.
 */
import type { Job } from './job.js';

export class JobQueue {
  private active: Job[] = [];
  private rr = 0;

  get size(): number {
    return this.active.length;
  }

  /** Puts a job in the rotation, if it is not there already. */
  activate(job: Job): void {
    if (!this.active.includes(job)) this.active.push(job);
  }

  remove(job: Job): void {
    this.active = this.active.filter((j) => j !== job);
  }

  /** The next job of `pool` with queued tasks, round-robin; drops jobs whose queue is empty. */
  pick(pool: string): Job | undefined {
    for (let n = this.active.length; n > 0; n--) {
      if (this.rr >= this.active.length) this.rr = 0;
      const job = this.active[this.rr]!;
      if (job.queued === 0) {
        this.active.splice(this.rr, 1);
        continue;
      }
      this.rr++;
      if (job.pool === pool) return job;
    }
    return undefined;
  }

  /** Tasks of `pool`'s jobs that wait for a slot: what the autoscaler sizes the pool by. */
  backlog(pool: string): number {
    let n = 0;
    for (const job of this.active) if (job.pool === pool) n += job.queued;
    return n;
  }
}
