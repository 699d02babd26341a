/**
 * The runs in flight: each task sent to a lane gets a run number, and a result counts only for
 * the run the controller still expects. A run forgotten (finished, timed out, cancelled, its
 * lane gone) has any later result dropped.
 */
import type { ErrorInfo } from '../contract/errors.js';
import type { Job } from './job.js';
import type { Lane } from './lane.js';
import type { JobActivity } from './job-activity.js';
import type { TaskUsage } from './task-usage.js';

/** One dispatch of a task to a lane. */
export interface Run {
  lane: Lane;
  job: Job;
  index: number;
  attempt: number;
  /** Estimated duration at dispatch (ms), counted in the lane's pending work. */
  est: number;
  /** When it was dispatched (ms), for the event stream; 0 while nobody watched. */
  at: number;
  timer?: NodeJS.Timeout;
}

export class RunTable {
  private readonly runs = new Map<number, Run>();
  private nextRun = 1;

  constructor(
    private readonly activity: JobActivity,
    /** A run left `lane`'s slot: the lane may take work again. */
    private readonly freed: (lane: Lane) => void,
  ) {}

  /** Records a dispatch of task `index` of `job` to `lane`; returns its run number. */
  add(lane: Lane, job: Job, index: number, est: number, at: number): number {
    const run = this.nextRun++;
    const attempt = job.attempts[index]!;
    this.runs.set(run, { lane, job, index, attempt, est, at });
    if (at) this.activity.started(job, index, attempt, lane, at);
    lane.runs.add(run);
    lane.pendingMs += est;
    return run;
  }

  get(run: number): Run | undefined {
    return this.runs.get(run);
  }

  /** Drops a run without touching its lane (the lane is going away). */
  delete(run: number): void {
    this.runs.delete(run);
  }

  /** Stops tracking a run: no result for it will be accepted any more. */
  forget(run: number, r: Run): void {
    this.runs.delete(run);
    r.lane.runs.delete(run);
    this.freed(r.lane);
    r.lane.pendingMs = r.lane.runs.size === 0 ? 0 : Math.max(0, r.lane.pendingMs - r.est);
    if (r.lane.runs.size === 0) {
      r.lane.idleSince = Date.now();
      r.lane.alone = false;
    }
    clearTimeout(r.timer);
  }

  /** The runs of `job` (those of its task `index`, if given), by lane. */
  byLane(job: Job, index?: number): Map<Lane, number[]> {
    const byLane = new Map<Lane, number[]>();
    for (const [run, r] of this.runs) {
      if (r.job !== job || (index !== undefined && r.index !== index)) continue;
      const list = byLane.get(r.lane);
      if (list) list.push(run);
      else byLane.set(r.lane, [run]);
    }
    return byLane;
  }

  /** Where a run ran, for its error's context. */
  context(r: Run, lane: Lane) {
    return { jobId: r.job.id, taskIndex: r.index, attempt: r.attempt, pool: r.job.pool, agentId: lane.agentId, host: lane.hello.host, pid: lane.hello.pid };
  }

  /** Fails the task of a run with `error`; it was on the run's lane, as the event stream reports. */
  fail(r: Run, error: ErrorInfo, u?: TaskUsage): void {
    // Reported first: the job's last result ends it, and its `job.finished` comes after.
    if (r.at) this.activity.finished(r.job, r.index, r.attempt, r.lane, r.at, error);
    r.job.record(u ? { index: r.index, ok: false, error, u } : { index: r.index, ok: false, error });
  }

  /** A run's task succeeded (the result itself is recorded by the caller). */
  succeeded(r: Run): void {
    if (r.at) this.activity.finished(r.job, r.index, r.attempt, r.lane, r.at);
  }
}
