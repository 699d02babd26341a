/**
 * Dispatch: queued tasks go to lanes of their job's pool, round-robin across jobs so a big job
 * cannot starve a small one, in batches that fill each lane's window in one frame. Results are
 * recorded once per task; a result for a run the controller no longer expects (timed out,
 * cancelled, re-run after a lost lane) is dropped.
 */
import { FlotillaError } from '../agent/protocol/errors.js';
import type { ErrorInfo } from '../agent/protocol/errors.js';
import { packEncoded, unpackEncoded } from '../agent/protocol/messages.js';
import type { ToAgent, ToController, WireTask } from '../agent/protocol/messages.js';
import { CLOSE } from '../agent/protocol/channel.js';
import { Job, RUNNING } from './job.js';
import type { TaskResult } from './job.js';
import { Lane } from './lane.js';

interface Run {
  lane: Lane;
  job: Job;
  index: number;
  attempt: number;
  /** Estimated duration at dispatch (ms), counted in the lane's pending work. */
  est: number;
  timer?: NodeJS.Timeout;
}

export class Scheduler {
  readonly jobs = new Map<string, Job>();
  readonly lanes = new Set<Lane>();
  private readonly runs = new Map<number, Run>();
  /** Jobs with queued tasks, in round-robin order. */
  private active: Job[] = [];
  private rr = 0;
  private nextRun = 1;
  /** Called whenever lanes come or go or jobs change, for the pools' bookkeeping. */
  onChange: (() => void) | undefined;

  submit(job: Job): void {
    this.jobs.set(job.id, job);
    if (job.total > 0) this.active.push(job);
    this.dispatch();
  }

  addLane(lane: Lane): void {
    this.lanes.add(lane);
    lane.channel.onmessage = (msg: ToController, bins) => this.onMessage(lane, msg, bins);
    this.dispatch();
    this.onChange?.();
  }

  /** A lane went away: its unfinished runs go back to the queue, or fail once retries are spent. */
  removeLane(lane: Lane, why: string): void {
    if (!this.lanes.delete(lane)) return;
    for (const run of lane.runs) {
      const r = this.runs.get(run);
      this.runs.delete(run);
      if (!r || r.job.state[r.index] !== RUNNING) continue;
      clearTimeout(r.timer);
      if (r.attempt > r.job.retries) {
        this.finish(r.job, r.index, {
          code: 'AGENT_LOST',
          message: `agent ${lane.agentId} was lost while running this task (${why}); gave up after ${r.attempt} attempt(s)`,
          context: this.context(r, lane),
        });
      } else {
        r.job.requeue(r.index);
        this.activate(r.job);
      }
    }
    lane.runs.clear();
    this.dispatch();
    this.onChange?.();
  }

  private activate(job: Job): void {
    if (!this.active.includes(job)) this.active.push(job);
  }

  /**
   * Fills lanes from the queues of jobs in their pool: one task per lane per round, so idle lanes
   * all get work before any lane queues more, then one frame per lane.
   */
  dispatch(): void {
    if (this.active.length === 0) return;
    const batches = new Map<Lane, { tasks: WireTask[]; bins: Uint8Array[] }>();
    let progress = true;
    while (progress && this.active.length > 0) {
      progress = false;
      for (const lane of this.lanes) {
        if (!lane.channel.isOpen) continue;
        const job = this.pick(lane.pool);
        if (!job) continue;
        const est = job.ewmaMs ?? Infinity;
        if (!lane.accepts(est)) continue;
        const index = job.take();
        if (index < 0) continue;
        let batch = batches.get(lane);
        let ref = lane.fnRefs.get(job.fn.id);
        if (ref === undefined) {
          if (batch) this.send(lane, batch.tasks, batch.bins);
          batches.delete(lane);
          batch = undefined;
          ref = this.sendFn(lane, job);
        }
        if (!batch) batches.set(lane, (batch = { tasks: [], bins: [] }));
        const run = this.nextRun++;
        const attempt = job.attempts[index]!;
        const known = Number.isFinite(est) ? est : 0;
        this.runs.set(run, { lane, job, index, attempt, est: known });
        lane.runs.add(run);
        lane.pendingMs += known;
        batch.tasks.push([run, ref, packEncoded(job.args[index]!, batch.bins), job.timeoutMs, index, attempt]);
        progress = true;
      }
    }
    for (const [lane, b] of batches) this.send(lane, b.tasks, b.bins);
  }

  /** The next job of `pool` with queued tasks, round-robin; drops jobs whose queue is empty. */
  private pick(pool: string): Job | undefined {
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

  private send(lane: Lane, tasks: WireTask[], bins: Uint8Array[]): void {
    lane.channel.send({ t: 'run', tasks } satisfies ToAgent, bins);
  }

  /** Defines a job's function on a lane; returns the ref its tasks use there. */
  private sendFn(lane: Lane, job: Job): number {
    const bins: Uint8Array[] = [];
    const vals = Object.fromEntries(Object.entries(job.fn.vals).map(([k, e]) => [k, packEncoded(e, bins)]));
    const ref = lane.fnRefs.size + 1;
    lane.channel.send({ t: 'fn', ref, spec: { ...job.fn, vals } } satisfies ToAgent, bins);
    lane.fnRefs.set(job.fn.id, ref);
    return ref;
  }

  private onMessage(lane: Lane, msg: ToController, bins: Buffer[]): void {
    switch (msg.t) {
      case 'res':
        if (!Array.isArray(msg.r)) throw new FlotillaError('CHANNEL', 'results message without a result list');
        for (const item of msg.r) {
          if (!Array.isArray(item) || typeof item[0] !== 'number' || typeof item[2] !== 'object' || item[2] === null || typeof item[3] !== 'number') {
            throw new FlotillaError('CHANNEL', 'malformed result');
          }
          const [run, ok, payload, durationUs] = item;
          const r = this.runs.get(run);
          if (!r || r.lane !== lane) continue; // stale: timed out, cancelled or re-dispatched
          this.forget(run, r);
          lane.completed++;
          r.job.observe(durationUs / 1000);
          if (ok) {
            // Copy binary parts out of the frame so a small result does not pin a large frame.
            const enc = unpackEncoded(payload, bins);
            if (enc.b) enc.b = enc.b.map((b) => Uint8Array.prototype.slice.call(b));
            this.record(r.job, { index: r.index, ok: true, value: enc });
          } else {
            this.finish(r.job, r.index, { ...payload, context: { ...payload.context, ...this.context(r, lane) } });
          }
        }
        if (msg.s !== undefined) this.startClock(msg.s);
        this.dispatch();
        return;
      case 'hb':
        lane.rssBytes = msg.rssBytes;
        return;
      default:
        return;
    }
  }

  /** A run with a timeout has started on its lane: the controller's clock is the one that counts. */
  private startClock(run: number): void {
    const r = this.runs.get(run);
    if (!r || r.job.timeoutMs <= 0) return;
    r.timer = setTimeout(() => {
      if (this.runs.get(run) !== r) return;
      this.dropRun(run, r);
      this.finish(r.job, r.index, { code: 'TIMEOUT', message: `task timed out after ${r.job.timeoutMs} ms`, context: { ...this.context(r, r.lane), timedOut: true } });
      this.dispatch();
    }, r.job.timeoutMs);
    r.timer.unref();
  }

  /** Stops tracking a run: no result for it will be accepted any more. */
  private forget(run: number, r: Run): void {
    this.runs.delete(run);
    r.lane.runs.delete(run);
    r.lane.pendingMs = r.lane.runs.size === 0 ? 0 : Math.max(0, r.lane.pendingMs - r.est);
    clearTimeout(r.timer);
  }

  private dropRun(run: number, r: Run): void {
    this.forget(run, r);
    r.lane.channel.send({ t: 'cancel', runs: [run] } satisfies ToAgent);
  }

  private context(r: Run, lane: Lane) {
    return { jobId: r.job.id, taskIndex: r.index, attempt: r.attempt, pool: r.job.pool, agentId: lane.agentId, host: lane.hello.host, pid: lane.hello.pid };
  }

  private finish(job: Job, index: number, error: ErrorInfo): void {
    this.record(job, { index, ok: false, error });
  }

  private record(job: Job, result: TaskResult): void {
    if (job.record(result) && job.finished) this.onChange?.();
  }

  /** Cancels one task, or every unfinished task of a job; running ones are aborted on their agents. */
  cancel(jobId: string, index?: number): { cancelled: number } {
    const job = this.jobs.get(jobId);
    if (!job) throw new FlotillaError('NOT_FOUND', `no job ${jobId}`);
    if (index !== undefined && !(Number.isInteger(index) && index >= 0 && index < job.total)) {
      throw new FlotillaError('BAD_INPUT', `task index must be an integer in [0, ${job.total}), got ${index}`);
    }
    const wanted = (i: number) => index === undefined || i === index;
    const byLane = new Map<Lane, number[]>();
    for (const [run, r] of this.runs) {
      if (r.job !== job || !wanted(r.index)) continue;
      this.forget(run, r);
      byLane.set(r.lane, [...(byLane.get(r.lane) ?? []), run]);
    }
    for (const [lane, runs] of byLane) lane.channel.send({ t: 'cancel', runs } satisfies ToAgent);
    if (index === undefined) job.cancelled = true;
    let cancelled = 0;
    const from = index ?? 0, to = index === undefined ? job.total : index + 1;
    for (let i = from; i < to; i++) {
      if (job.record({ index: i, ok: false, error: { code: 'CANCELLED', message: index === undefined ? 'job cancelled' : 'task cancelled', context: { jobId, taskIndex: i, pool: job.pool } } })) cancelled++;
    }
    this.dispatch();
    this.onChange?.();
    return { cancelled };
  }

  /** Tells every lane to exit and closes the channels. */
  shutdown(reason: string): void {
    for (const lane of [...this.lanes]) {
      lane.channel.send({ t: 'shutdown', reason } satisfies ToAgent);
      lane.channel.close(CLOSE.SHUTDOWN, reason);
      this.removeLane(lane, reason);
    }
  }
}
