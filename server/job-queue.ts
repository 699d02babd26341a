/**
 * Jobs with queued tasks, taken round-robin so a big job cannot starve a small one; a job whose
 * queue is empty drops out until it has tasks again. A rotation (a queue with a moving head), so
 * putting a job in and taking the next are O(1) however many jobs wait: thousands of one-task
 * jobs submitted at once must not cost a walk of all the others each.
 */
import type { Job } from './job.js';

export class JobQueue {
  /** The rotation: entries from `head` on; the next job to look at first. */
  private ring: (Job | undefined)[] = [];
  private head = 0;
  private readonly members = new Set<Job>();

  get size(): number {
    return this.members.size;
  }

  /** Puts a job in the rotation, if it is not there already. */
  activate(job: Job): void {
    if (this.members.has(job)) return;
    this.members.add(job);
    this.ring.push(job);
  }

  remove(job: Job): void {
    if (!this.members.delete(job)) return;
    const at = this.ring.indexOf(job, this.head);
    if (at >= 0) this.ring[at] = undefined;
  }

  /** The next job of `pool` with queued tasks, round-robin; drops jobs whose queue is empty. */
  pick(pool: string): Job | undefined {
    for (let n = this.ring.length - this.head; n > 0; n--) {
      const job = this.ring[this.head];
      this.ring[this.head++] = undefined;
      if (!job) continue;
      if (job.queued === 0) {
        this.members.delete(job);
        continue;
      }
      this.ring.push(job); // to the back of the rotation
      if (job.pool === pool) {
        this.compact();
        return job;
      }
    }
    this.compact();
    return undefined;
  }

  /** Drops the taken head of the ring once it is half of it. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
  }

  /** Tasks of `pool`'s jobs that wait for a slot: what the autoscaler sizes the pool by. */
  backlog(pool: string): number {
    let n = 0;
    for (const job of this.members) if (job.pool === pool) n += job.queued;
    return n;
  }
}
