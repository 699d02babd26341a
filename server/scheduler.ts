/**
 * Dispatch: queued tasks go to lanes of their job's pool, round-robin across jobs so a big job
 * cannot starve a small one, in batches that fill each lane's window in one frame. Results are
 * recorded once per task; a result for a run the controller no longer expects (timed out,
 * cancelled, re-run after a lost lane) is dropped.
 */
import { FlotillaError } from '../contract/errors.js';
import type { ErrorContext, ErrorInfo } from '../contract/errors.js';
import { packEncoded } from '../contract/messages.js';
import type { ToAgent, ToController } from '../contract/messages.js';
import { CLOSE } from '../agent/protocol/channel.js';
import { Job } from './job.js';
import type { JobWatcher } from './job.js';
import { settleLostRuns } from './lost-runs.js';
import { JobQueue } from './job-queue.js';
import { FnEstimates } from './fn-estimates.js';
import { Lane } from './lane.js';
import type { Batch } from './lane.js';
import type { ArtifactStore } from './artifacts.js';
import { ArtifactShipping } from './agent-artifacts.js';
import { Emitter } from './emitter.js';
import type { ControlEventStream } from './events.js';
import type { JobActivity } from './job-activity.js';
import { RunTable } from './run-table.js';
import type { Run } from './run-table.js';
import { RunClocks } from './run-clocks.js';
import { LaneSender } from './lane-sender.js';
import { LaneReports } from './lane-reports.js';

/** What the scheduler tells the parts that keep books on it (pools, waiters for lanes). */
export interface SchedulerSignals {
  /** Lanes came or went, or a job finished. */
  changed: void;
  /** A lane whose aborted run still holds its slot: its agent should replace it. */
  stuck: { lane: Lane; why: string };
}

export class Scheduler {
  readonly jobs = new Map<string, Job>();
  readonly lanes = new Set<Lane>();
  /** Jobs with queued tasks, in round-robin order. */
  private readonly queue = new JobQueue();
  /** Artifacts sent to agents, per agent id (kept after they leave) and in total. */
  get transfers(): ArtifactShipping['transfers'] {
    return this.shipping.transfers;
  }
  /** Lanes came or went, jobs finished, lanes got stuck: for the pools' bookkeeping and waiters. */
  readonly signals = new Emitter<SchedulerSignals>();
  /** Most tasks an agent may be given (its pool's maxTasks), if any; set by the controller. */
  maxTasksOf: ((pool: string) => number | undefined) | undefined;
  /** Tasks dispatched to each agent so far, for maxTasks. */
  private readonly given = new Map<string, number>();
  /** Set by shutdown: lanes that go away now take their runs with them. */
  private closing = false;
  /** Where module artifacts come from; set by the controller. */
  artifacts: ArtifactStore | undefined;
  /** Sends agents the module artifacts they lack. */
  private readonly shipping = new ArtifactShipping(() => this.artifacts);
  private readonly runs: RunTable;
  private readonly clocks: RunClocks;
  private readonly sender: LaneSender;
  private readonly reports: LaneReports;
  /** Jobs whose tasks are pinned to lanes (`everywhere`): never queued, never moved elsewhere. */
  private readonly pinned = new Set<Job>();
  private readonly estimates = new FnEstimates();
  /**
   * Lanes that may take work: dispatch looks at these only, so a result frame from one of
   * thousands of lanes costs a look at that lane, not at all of them. A lane leaves the set when
   * its window is full and comes back when one of its runs ends.
   */
  private readonly hungry = new Set<Lane>();
  /** Bumped whenever a lane comes or goes, so pools re-match lanes to agents only then. */
  lanesVersion = 0;
  /** Set while a dispatch is scheduled for the end of this turn (see `dispatchSoon`). */
  private dispatchQueued = false;
  /** Set while a dispatch of a big map's chunks waits for the end of this round of I/O (see `extended`). */
  private extendQueued: NodeJS.Immediate | undefined;

  constructor(
    private readonly events: ControlEventStream,
    private readonly activity: JobActivity,
  ) {
    const freed = (lane: Lane) => void (this.lanes.has(lane) && this.hungry.add(lane));
    this.runs = new RunTable(activity, freed);
    this.clocks = new RunClocks(this.runs, {
      hasLane: (lane) => this.lanes.has(lane),
      removeLane: (lane, why) => this.removeLane(lane, why),
      dispatch: () => this.dispatch(),
      stuck: (lane, why) => this.signals.emit('stuck', { lane, why }),
    });
    this.sender = new LaneSender(this.runs, this.shipping, () => this.jobs.values());
    this.reports = new LaneReports(this.runs, this.clocks, this.shipping, {
      sendBack: (r, error) => this.sendBack(r, error),
      retiring: () => this.signals.emit('changed', undefined),
      replace: (lane, why) => this.signals.emit('stuck', { lane, why }),
      reported: () => this.dispatch(),
      freed: (lane) => void this.hungry.add(lane),
      estimate: (job) => this.estimates.note(job),
    });
  }

  /** Queues a job's tasks; `flow` names the flow it runs the units of, for the event stream. */
  submit(job: Job, flow?: string): void {
    this.track(job, flow);
    if (job.total > 0) this.queue.activate(job);
    // A job whose other chunks are on their way leaves with them (see `extended`).
    if (job.appended < job.total) this.dispatchAfterIo();
    else this.dispatchSoon();
  }

  /**
   * Dispatches once the current synchronous turn is over: jobs submitted together (many
   * single-task maps issued at once) then leave in one frame per lane, not one each.
   */
  private dispatchSoon(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(this.dispatchQueuedNow);
  }

  // Made once, not per submit: a closure each would cost every single-task map.
  private readonly dispatchQueuedNow = (): void => {
    this.dispatchQueued = false;
    this.dispatch();
  };

  /** Lists a job and reports its progress and its end. */
  private track(job: Job, flow?: string): void {
    this.jobs.set(job.id, job);
    this.activity.submitted(job, flow);
    job.notify(this.#jobWatcher);
  }

  /** Every tracked job's progress and end: one object for all of them. */
  readonly #jobWatcher: JobWatcher = {
    published: (j) => this.activity.progressed(j),
    finished: (j) => {
      this.pinned.delete(j);
      this.activity.jobFinished(j);
      this.signals.emit('changed', undefined);
    },
  };

  /**
   * Takes back a job whose submit failed after it was handed over: it leaves the queues, and any
   * of its tasks already sent are aborted, as if it had never been submitted.
   */
  withdraw(job: Job): void {
    if (this.jobs.get(job.id) === job) this.jobs.delete(job.id);
    this.queue.remove(job);
    this.pinned.delete(job);
    for (const [lane, runs] of this.runs.byLane(job)) this.clocks.abandon(lane, runs);
    this.signals.emit('changed', undefined);
  }

  addLane(lane: Lane): void {
    this.lanes.add(lane);
    this.lanesVersion++;
    this.hungry.add(lane);
    // Each lane reports the agent's disk cache; they share it, so their reports add up.
    this.shipping.connected(lane);
    lane.channel.onmessage = (msg: ToController, bins) => this.reports.handle(lane, msg, bins);
    if (this.events.watched) this.events.emit('lane.added', { lane: lane.info() });
    this.dispatch();
    this.signals.emit('changed', undefined);
  }

  /** A lane went away: its unfinished runs go back to the queue or fail (server/lost-runs.ts). */
  removeLane(lane: Lane, why: string, died?: ErrorContext): void {
    if (!this.lanes.delete(lane)) return;
    this.lanesVersion++;
    this.hungry.delete(lane);
    if (this.events.watched) this.events.emit('lane.removed', { agentId: lane.agentId, lane: lane.hello.lane, pool: lane.pool, reason: why });
    settleLostRuns(this.runs, lane, why, died, {
      closing: this.closing,
      pinned: (job) => this.pinned.has(job),
      requeue: (r, how) => this.requeue(r, how),
    });
    clearTimeout(lane.startWatch);
    this.reports.forget(lane);
    if (![...this.lanes].some((l) => l.agentId === lane.agentId)) {
      this.given.delete(lane.agentId);
      this.shipping.gone(lane.agentId);
    }
    if (this.closing) return;
    this.dispatch();
    this.signals.emit('changed', undefined);
  }

  /**
   * More of a job's arguments have arrived: its tasks can be dispatched, once the chunks that
   * arrive back to back (an in-process client appends a big map's chunks in one turn, a remote
   * one's arrive in one read) are all in. Dispatching each chunk of 8,192 tasks on its own over
   * thousands of lanes sent a frame or two per task; together they fill each lane's window in one.
   * A job whose arguments are all in (every single-task map) still leaves at the end of its turn.
   */
  extended(job: Job): void {
    this.queue.activate(job);
    this.dispatchAfterIo();
    this.signals.emit('changed', undefined);
  }

  /** Dispatches once this round of I/O is over (at setImmediate): chunks that arrive back to back go together. */
  private dispatchAfterIo(): void {
    this.extendQueued ??= setImmediate(() => {
      this.extendQueued = undefined;
      this.dispatch();
    });
  }

  /** Puts a run's task back in its queue for another attempt (retryIf), unless it is pinned to its lane. */
  private sendBack(r: Run, error: ErrorInfo): boolean {
    if (this.pinned.has(r.job)) return false;
    if (r.at) this.activity.finished(r.job, r.index, r.attempt, r.lane, r.at, error);
    this.requeue(r, {});
    return true;
  }

  private requeue(r: Run, how: { uncharged?: boolean; crashed?: boolean }): void {
    r.job.requeue(r.index, how);
    this.activity.requeued(r.job);
    this.queue.activate(r.job);
  }

  /**
   * Fills lanes from the queues of jobs in their pool: one task per lane per round, so idle lanes
   * all get work before any lane queues more, then one frame per lane.
   */
  dispatch(): void {
    if (this.queue.size === 0) return;
    const batches = new Map<Lane, Batch>();
    const now = this.activity.watched ? Date.now() : 0;
    let progress = true;
    while (progress && this.queue.size > 0) {
      progress = false;
      for (const lane of this.hungry) {
        if (!lane.channel.isOpen) continue;
        // A lane kept for a job it could not queue takes nothing else until it drains.
        const reserved = lane.reservedFor as Job | undefined;
        if (reserved && reserved.queued > 0 && lane.runs.size > 0) {
          this.hungry.delete(lane);
          continue;
        }
        lane.reservedFor = undefined;
        const job = reserved && reserved.queued > 0 ? reserved : this.queue.pick(lane.pool);
        if (!job) continue;
        const est = this.estimates.of(job);
        if (!lane.accepts(est)) {
          if (lane.runs.size > 0) lane.reservedFor = job;
          this.hungry.delete(lane); // back when one of its runs ends (forget, a drained run)
          continue;
        }
        const budget = this.maxTasksOf?.(lane.pool);
        const given = budget === undefined ? 0 : (this.given.get(lane.agentId) ?? 0);
        if (budget !== undefined && given >= budget) continue;
        // A task sent back re-runs alone, so a crash it causes again is its own.
        let index = lane.runs.size === 0 ? job.take(true) : -1;
        if (index >= 0) lane.alone = true;
        else index = job.take();
        if (index < 0) continue;
        if (budget !== undefined) this.given.set(lane.agentId, given + 1);
        // This dispatch's batch for the lane, kept on the lane too (a map lookup a task costs over
        // thousands of lanes); the map is what counts should a dispatch run inside this one.
        let batch = lane.batch?.of === batches ? lane.batch : batches.get(lane);
        let ref = lane.fnRefs.get(job.fn.id);
        if (ref === undefined) {
          if (batch) this.sender.send(lane, batch.tasks, batch.bins);
          batches.delete(lane);
          batch = undefined;
          ref = this.sender.sendFn(lane, job);
        }
        if (!batch) batches.set(lane, (batch = { of: batches, tasks: [], bins: [] }));
        lane.batch = batch;
        const run = this.runs.add(lane, job, index, Number.isFinite(est) ? est : 0, now);
        batch.tasks.push([run, ref, packEncoded(job.arg(index), batch.bins), job.timeoutMs, index, job.attempts[index]!]);
        progress = true;
      }
    }
    for (const [lane, b] of batches) {
      if (lane.batch === b) lane.batch = undefined;
      this.sender.send(lane, b.tasks, b.bins);
      this.clocks.watchStarts(lane);
    }
  }

  /**
   * Runs one task of `job` on each of `lanes` (task i on lanes[i]), whatever else they hold:
   * `everywhere`. The tasks are never queued for other lanes; one whose lane goes away fails
   * AGENT_LOST. Lanes that connect later get nothing.
   */
  runPinned(job: Job, lanes: readonly Lane[]): void {
    this.track(job);
    this.pinned.add(job);
    const now = this.activity.watched ? Date.now() : 0;
    for (const lane of lanes) {
      const index = job.take();
      if (index < 0) break;
      const ref = this.sender.fnRef(lane, job);
      const run = this.runs.add(lane, job, index, 0, now);
      const bins: Uint8Array[] = [];
      this.sender.send(lane, [[run, ref, packEncoded(job.arg(index), bins), job.timeoutMs, index, job.attempts[index]!]], bins);
      this.clocks.watchStarts(lane);
    }
  }

  /** Asks every connected lane to drop setup values (these ids, or all); returns how many were asked. */
  dropSetup(ids?: string[]): number {
    let n = 0;
    for (const lane of this.lanes) {
      if (!lane.channel.isOpen) continue;
      lane.channel.send(ids === undefined ? { t: 'unsetup' } : ({ t: 'unsetup', ids } satisfies ToAgent));
      n++;
    }
    return n;
  }

  /** Tasks of `pool`'s unfinished jobs that wait for a slot: what the autoscaler sizes the pool by. */
  backlog(pool: string): number {
    return this.queue.backlog(pool);
  }

  /** Lanes of `pool` that hold no run and take work: free slots. */
  freeLanes(pool: string): number {
    let n = 0;
    for (const lane of this.lanes) if (lane.pool === pool && lane.runs.size === 0 && lane.draining.size === 0 && !lane.retiring) n++;
    return n;
  }

  /** Stops giving work to an agent's lanes (it is to leave); returns how many runs they still hold. */
  retireAgent(agentId: string): number {
    let held = 0;
    for (const lane of this.lanes) {
      if (lane.agentId !== agentId) continue;
      lane.retiring = true;
      held += lane.runs.size + lane.draining.size;
    }
    return held;
  }

  /** Cancels one task, or every unfinished task of a job; running ones are aborted on their agents. */
  cancel(jobId: string, index?: number): { cancelled: number } {
    const job = this.jobs.get(jobId);
    if (!job) throw new FlotillaError('NOT_FOUND', `no job ${jobId}`);
    if (index !== undefined && !(Number.isInteger(index) && index >= 0 && index < job.total)) {
      throw new FlotillaError('BAD_INPUT', `task index must be an integer in [0, ${job.total}), got ${index}`);
    }
    for (const [lane, runs] of this.runs.byLane(job, index)) this.clocks.abandon(lane, runs);
    // Stored before any result is: a controller that dies from here on still knows the job is cancelled.
    if (index === undefined) job.markCancelled();
    // One error for every task: a cancel of millions costs one small object per task, not four.
    // The result carries the index, and clients fill taskIndex in from it.
    const error: ErrorInfo = { code: 'CANCELLED', message: index === undefined ? 'job cancelled' : 'task cancelled', context: { jobId, pool: job.pool } };
    if (index !== undefined) error.context!.taskIndex = index;
    const cancelled = job.failRest(error, index === undefined ? {} : { from: index, to: index + 1 });
    this.dispatch();
    return { cancelled };
  }

  /** Tells every lane to exit and closes the channels; nothing is re-queued from now on. */
  shutdown(reason: string): void {
    this.closing = true;
    clearImmediate(this.extendQueued);
    for (const lane of [...this.lanes]) {
      lane.channel.send({ t: 'shutdown', reason } satisfies ToAgent);
      lane.channel.close(CLOSE.SHUTDOWN, reason);
      this.removeLane(lane, reason);
    }
  }
}
