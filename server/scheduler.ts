/**
 * Dispatch: queued tasks go to lanes of their job's pool, round-robin across jobs so a big job
 * cannot starve a small one, in batches that fill each lane's window in one frame. Results are
 * recorded once per task; a result for a run the controller no longer expects (timed out,
 * cancelled, re-run after a lost lane) is dropped.
 */
import type { TaskUsage } from './task-usage.js';
import { FlotillaError } from '../contract/errors.js';
import type { ErrorContext, ErrorInfo } from '../contract/errors.js';
import { packEncoded, unpackEncoded } from '../contract/messages.js';
import type { ToAgent, ToController, WireTask } from '../contract/messages.js';
import { CLOSE } from '../agent/protocol/channel.js';
import { Job, RUNNING } from './job.js';
import { Lane } from './lane.js';
import { specArtifacts } from '../contract/fnspec.js';
import type { ArtifactStore } from './artifacts.js';
import { ArtifactShipping } from './agent-artifacts.js';
import { checkMessage, checkPart, checkResult } from './wire-checks.js';
import { Emitter } from './emitter.js';
import type { ControlEventStream } from './events.js';
import type { JobActivity } from './job-activity.js';

/** What the scheduler tells the parts that keep books on it (pools, waiters for lanes). */
export interface SchedulerSignals {
  /** Lanes came or went, or a job finished. */
  changed: void;
  /** A lane whose aborted run still holds its slot: its agent should replace it. */
  stuck: { lane: Lane; why: string };
}

/** An aborted run still in its slot after this long is stuck (agents allow async tasks 1 s). */
const STUCK_AFTER_MS = 2_000;

/**
 * A run with a timeout must be reported started within twice its timeout plus this, counted from
 * dispatch, while its lane reports nothing else: time for the frame, the function's imports and
 * setups, and the short tasks queued ahead of it. A lane past that is withholding the task.
 */
const START_GRACE_MS = 10_000;

/** Functions whose task duration estimate is kept. */
const MAX_FN_ESTIMATES = 1024;

/** Functions (with their value globals) an agent lane keeps defined at most. */
const MAX_FNS_PER_LANE = 64;

interface Run {
  lane: Lane;
  job: Job;
  index: number;
  attempt: number;
  /** Estimated duration at dispatch (ms), counted in the lane's pending work. */
  est: number;
  /** When it was dispatched (ms), for the event stream; 0 while nobody watched. */
  at: number;
  timer?: NodeJS.Timeout;
  /** When it was sent to a lane that held nothing: its answer measures the lane's round trip. */
  sentAt?: number;
}

export class Scheduler {
  readonly jobs = new Map<string, Job>();
  readonly lanes = new Set<Lane>();
  private readonly runs = new Map<number, Run>();
  /** Jobs with queued tasks, in round-robin order. */
  private active: Job[] = [];
  private rr = 0;
  private nextRun = 1;
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
  /** Lanes to replace once they hold no run (a setup there timed out), with the reason. */
  private readonly recycling = new Map<Lane, string>();
  /** Jobs whose tasks are pinned to lanes (`everywhere`): never queued, never moved elsewhere. */
  private readonly pinned = new Set<Job>();
  /**
   * Task duration estimate per function (ms), so a new job of a function seen before fills lanes'
   * windows from its first task instead of one task per lane per round trip.
   */
  private readonly fnEstimates = new Map<string, number>();
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

  constructor(
    private readonly events: ControlEventStream,
    private readonly activity: JobActivity,
  ) {}

  /** Queues a job's tasks; `flow` names the flow it runs the units of, for the event stream. */
  submit(job: Job, flow?: string): void {
    this.track(job, flow);
    if (job.total > 0) this.active.push(job);
    this.dispatchSoon();
  }

  /**
   * Dispatches once the current synchronous turn is over: jobs submitted together (many
   * single-task maps issued at once) then leave in one frame per lane, not one each.
   */
  private dispatchSoon(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /** Lists a job and reports its progress and its end. */
  private track(job: Job, flow?: string): void {
    this.jobs.set(job.id, job);
    this.activity.submitted(job, flow);
    job.signals.on('published', (j) => this.activity.progressed(j));
    job.signals.on('finished', (j) => {
      this.pinned.delete(j);
      this.activity.jobFinished(j);
      this.signals.emit('changed', undefined);
    });
  }

  /**
   * Takes back a job whose submit failed after it was handed over: it leaves the queues, and any
   * of its tasks already sent are aborted, as if it had never been submitted.
   */
  withdraw(job: Job): void {
    if (this.jobs.get(job.id) === job) this.jobs.delete(job.id);
    this.active = this.active.filter((j) => j !== job);
    this.pinned.delete(job);
    const byLane = new Map<Lane, number[]>();
    for (const [run, r] of this.runs) {
      if (r.job !== job) continue;
      const list = byLane.get(r.lane);
      if (list) list.push(run);
      else byLane.set(r.lane, [run]);
    }
    for (const [lane, runs] of byLane) this.abandon(lane, runs);
    this.signals.emit('changed', undefined);
  }

  addLane(lane: Lane): void {
    this.lanes.add(lane);
    this.lanesVersion++;
    this.hungry.add(lane);
    // Each lane reports the agent's disk cache; they share it, so their reports add up.
    this.shipping.connected(lane);
    lane.channel.onmessage = (msg: ToController, bins) => this.onMessage(lane, msg, bins);
    if (this.events.watched) this.events.emit('lane.added', { lane: lane.info() });
    this.dispatch();
    this.signals.emit('changed', undefined);
  }

  /**
   * A lane went away: its unfinished runs go back to the queue. Only a run known to have been in
   * its slot counts as an attempt (and a crash); one past its retries fails with AGENT_LOST, one
   * past its crashLimit with POISONOUS. The others are re-queued as if never sent.
   */
  removeLane(lane: Lane, why: string, died?: ErrorContext): void {
    if (!this.lanes.delete(lane)) return;
    this.lanesVersion++;
    this.hungry.delete(lane);
    if (this.events.watched) this.events.emit('lane.removed', { agentId: lane.agentId, lane: lane.hello.lane, pool: lane.pool, reason: why });
    // An aborted run still held the slot: then none of the runs queued behind it had started.
    // Several runs held: no telling which was in the slot. Tiny tasks run many per event-loop
    // turn and their results leave together, so the first may have finished (its result lost
    // with the agent) and a later one have been the crash. None is charged then; each re-runs
    // alone (see dispatch), where a loss names its task.
    let started = lane.draining.size === 0 && lane.runs.size === 1;
    for (const run of lane.runs) {
      const r = this.runs.get(run);
      this.runs.delete(run);
      if (!r || r.job.state[r.index] !== RUNNING) continue;
      clearTimeout(r.timer);
      const charged = started;
      started = false;
      if (this.closing) continue;
      if (this.pinned.has(r.job)) {
        // Pinned to this lane: no other lane may run it instead.
        this.fail(r, { code: 'AGENT_LOST', message: `lane ${lane.hello.lane} of agent ${lane.agentId} went away before this task finished (${why})`, context: { ...this.context(r, lane), ...died } });
        continue;
      }
      if (!charged) {
        r.job.requeue(r.index, { uncharged: true });
        this.activity.requeued(r.job);
        this.activate(r.job);
        continue;
      }
      const crashes = r.job.crashed(r.index);
      if (crashes >= r.job.crashLimit) {
        this.fail(r, {
          code: 'POISONOUS',
          message: `this task was running on ${crashes} agents that died (last: ${lane.agentId}, ${why}); failed as poisonous (crashLimit ${r.job.crashLimit})`,
          context: { ...this.context(r, lane), ...died },
        });
      } else if (r.attempt > r.job.retries) {
        this.fail(r, {
          code: 'AGENT_LOST',
          message: `agent ${lane.agentId} was lost while running this task (${why}); gave up after ${r.attempt} attempt(s)`,
          context: { ...this.context(r, lane), ...died },
        });
      } else {
        r.job.requeue(r.index, { crashed: true });
        this.activity.requeued(r.job);
        this.activate(r.job);
      }
    }
    lane.runs.clear();
    lane.draining.clear();
    clearTimeout(lane.startWatch);
    this.recycling.delete(lane);
    if (![...this.lanes].some((l) => l.agentId === lane.agentId)) {
      this.given.delete(lane.agentId);
      this.shipping.gone(lane.agentId);
    }
    if (this.closing) return;
    this.dispatch();
    this.signals.emit('changed', undefined);
  }

  /** More of a job's arguments have arrived: its tasks can be dispatched. */
  extended(job: Job): void {
    this.activate(job);
    this.dispatch();
    this.signals.emit('changed', undefined);
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
    const now = this.activity.watched ? Date.now() : 0;
    let progress = true;
    while (progress && this.active.length > 0) {
      progress = false;
      for (const lane of this.hungry) {
        if (!lane.channel.isOpen) continue;
        const job = this.pick(lane.pool);
        if (!job) continue;
        const est = job.ewmaMs ?? this.fnEstimates.get(job.fn.id) ?? Infinity;
        if (!lane.accepts(est)) {
          this.hungry.delete(lane); // back when one of its runs ends (forget, a drained run)
          continue;
        }
        const budget = this.maxTasksOf?.(lane.pool);
        const given = this.given.get(lane.agentId) ?? 0;
        if (budget !== undefined && given >= budget) continue;
        // A task sent back re-runs alone, so a crash it causes again is its own.
        let index = lane.runs.size === 0 ? job.take(true) : -1;
        if (index >= 0) lane.alone = true;
        else index = job.take();
        if (index < 0) continue;
        if (budget !== undefined) this.given.set(lane.agentId, given + 1);
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
        this.runs.set(run, lane.runs.size === 0 ? { lane, job, index, attempt, est: known, at: now, sentAt: performance.now() } : { lane, job, index, attempt, est: known, at: now });
        if (now) this.activity.started(job, index, attempt, lane, now);
        lane.runs.add(run);
        lane.pendingMs += known;
        batch.tasks.push([run, ref, packEncoded(job.arg(index), batch.bins), job.timeoutMs, index, attempt]);
        progress = true;
      }
    }
    for (const [lane, b] of batches) {
      this.send(lane, b.tasks, b.bins);
      this.watchStarts(lane);
    }
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

  /**
   * Sends a batch of tasks. A frame that cannot be built (an argument the wire cannot carry, or
   * a batch too large for one frame) is sent again task by task, and a task that still cannot go
   * fails on its own: nothing stays "in flight" on a lane that never got it.
   */
  private send(lane: Lane, tasks: WireTask[], bins: Uint8Array[]): void {
    try {
      lane.channel.send({ t: 'run', tasks } satisfies ToAgent, bins);
      return;
    } catch (err) {
      if (tasks.length === 1) return this.unsendable(lane, tasks[0]!, err);
    }
    for (const task of tasks) {
      const own: Uint8Array[] = [];
      const arg = task[2].b ? { ...task[2], b: task[2].b.map((i) => own.push(bins[i]!) - 1) } : task[2];
      const one: WireTask = [task[0], task[1], arg, task[3], task[4], task[5]];
      try {
        lane.channel.send({ t: 'run', tasks: [one] } satisfies ToAgent, own);
      } catch (err) {
        this.unsendable(lane, task, err);
      }
    }
  }

  /** A task whose frame could not be built: it fails BAD_INPUT, and its lane is free of it. */
  private unsendable(lane: Lane, task: WireTask, err: unknown): void {
    const run = task[0];
    const r = this.runs.get(run);
    if (!r || r.lane !== lane) return;
    this.forget(run, r);
    this.fail(r, { code: 'BAD_INPUT', message: `this task's argument could not be sent to an agent: ${(err as Error)?.message ?? String(err)}`, context: { jobId: r.job.id, taskIndex: r.index, pool: r.job.pool } });
  }

  /** Defines a job's function on a lane; returns the ref its tasks use there. */
  private sendFn(lane: Lane, job: Job): number {
    const bins: Uint8Array[] = [];
    const vals = Object.fromEntries(Object.entries(job.fn.vals).map(([k, e]) => [k, packEncoded(e, bins)]));
    const ref = lane.nextFnRef();
    this.shipping.send(lane, specArtifacts(job.fn));
    lane.channel.send({ t: 'fn', ref, spec: { ...job.fn, vals } } satisfies ToAgent, bins);
    lane.fnRefs.set(job.fn.id, ref);
    this.trimFns(lane);
    return ref;
  }

  /**
   * A setup (or an import) on `lane` did not settle in time: its code may still run there. The
   * lane takes no new work and is replaced once the runs it holds have answered.
   */
  private recycleWhenIdle(lane: Lane, why: string): void {
    if (this.recycling.has(lane)) return;
    lane.retiring = true;
    this.recycling.set(lane, why);
    this.signals.emit('changed', undefined);
  }

  private recycleIfIdle(lane: Lane): void {
    const why = this.recycling.get(lane);
    if (why === undefined || lane.runs.size > 0 || lane.draining.size > 0) return;
    this.recycling.delete(lane);
    this.signals.emit('stuck', { lane, why });
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
      const ref = lane.fnRefs.get(job.fn.id) ?? this.sendFn(lane, job);
      const run = this.nextRun++;
      const attempt = job.attempts[index]!;
      this.runs.set(run, { lane, job, index, attempt, est: 0, at: now });
      if (now) this.activity.started(job, index, attempt, lane, now);
      lane.runs.add(run);
      const bins: Uint8Array[] = [];
      this.send(lane, [[run, ref, packEncoded(job.arg(index), bins), job.timeoutMs, index, attempt]], bins);
      this.watchStarts(lane);
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

  private onMessage(lane: Lane, msg: ToController, bins: Buffer[]): void {
    switch (msg.t) {
      case 'need':
        this.shipping.send(lane, [checkMessage('need', msg).hash], true);
        return;
      case 'res':
        if (!Array.isArray(msg.r)) throw new FlotillaError('CHANNEL', 'results message without a result list');
        const arrived = Date.now(); // when these tasks finished, on the controller's clock
        let estimated: Job | undefined; // noted per job once a frame, not once a result
        for (const item of msg.r) {
          // An agent is authenticated, not trusted to be well-formed: check before acting.
          const [run, ok, payload, durationUs, cpuUs = -1, rssKb = -1] = checkResult(item, bins.length);
          if (lane.draining.delete(run)) {
            this.hungry.add(lane);
            continue; // an aborted run has left its slot
          }
          const r = this.runs.get(run);
          if (!r || r.lane !== lane) continue; // stale: re-dispatched elsewhere
          this.forget(run, r);
          if (r.sentAt !== undefined) lane.observeRoundTrip(performance.now() - r.sentAt - durationUs / 1000);
          lane.completed++;
          r.job.observe(durationUs / 1000);
          if (r.job !== estimated) {
            if (estimated) this.estimate(estimated);
            estimated = r.job;
          }
          const u: TaskUsage = [r.job.queuedAt(r.index), arrived, durationUs, cpuUs, rssKb];
          if (ok) {
            // Copy binary parts out of the frame so a small result does not pin a large frame.
            const enc = unpackEncoded(payload, bins);
            if (enc.b) enc.b = enc.b.map((b) => Uint8Array.prototype.slice.call(b));
            // Reported first: the job's last result ends it, and its `job.finished` comes after.
            if (r.at) this.activity.finished(r.job, r.index, r.attempt, lane, r.at);
            r.job.record({ index: r.index, ok: true, value: enc, attempt: r.attempt, agentId: lane.agentId, host: lane.hello.host, u });
          } else if (payload.action === 'retry' && r.attempt <= r.job.retries && !this.pinned.has(r.job)) {
            // The job's retryIf accepted this error (on the agent, where the error is).
            if (r.at) this.activity.finished(r.job, r.index, r.attempt, lane, r.at, payload);
            r.job.requeue(r.index);
            this.activity.requeued(r.job);
            this.activate(r.job);
          } else {
            this.fail(r, { ...payload, context: { ...(payload.context ?? {}), ...this.context(r, lane) } }, u);
            if (payload.code === 'SETUP_FAILED' && payload.action === 'replace-lane') this.recycleWhenIdle(lane, payload.message);
          }
        }
        if (estimated) this.estimate(estimated);
        lane.lastReport = Date.now();
        if (typeof msg.s === 'number') this.startClock(lane, msg.s);
        this.recycleIfIdle(lane);
        this.dispatch();
        return;
      case 'part':
        if (!Array.isArray(msg.p)) throw new FlotillaError('CHANNEL', 'parts message without a part list');
        for (const item of msg.p) {
          const checked = checkPart(item, bins.length);
          if (!checked) continue; // nested too deep to forward: dropped, like a stale part
          const [run, payload] = checked;
          if (lane.draining.has(run)) continue; // aborted: its result is why
          const r = this.runs.get(run);
          if (!r || r.lane !== lane) continue; // stale, exactly as its result would be
          const enc = unpackEncoded(payload, bins);
          if (enc.b) enc.b = enc.b.map((b) => Uint8Array.prototype.slice.call(b));
          r.job.partial(r.index, r.attempt, enc);
        }
        return;
      case 'hb':
        // Shown to every client by agents.list: a bad value must end this agent, not the listing.
        lane.heartbeat(checkMessage('hb', msg));
        return;
      default:
        return;
    }
  }

  /** A run with a timeout has started on its lane: the controller's clock is the one that counts. */
  private startClock(lane: Lane, run: number): void {
    const r = this.runs.get(run);
    if (!r || r.lane !== lane || r.job.timeoutMs <= 0 || r.timer) return;
    r.timer = setTimeout(() => {
      if (this.runs.get(run) !== r) return;
      this.abandon(lane, [run]);
      this.fail(r, { code: 'TIMEOUT', message: `task timed out after ${r.job.timeoutMs} ms`, context: { ...this.context(r, r.lane), timedOut: true } });
      this.dispatch();
    }, r.job.timeoutMs);
    r.timer.unref();
  }

  /**
   * The timeout counts from dispatch as well as from the reported start: a lane holding runs with
   * a timeout that it neither starts nor answers, and that reports nothing else meanwhile, loses
   * its connection, and its runs go back to the queue under the usual retry rules. Runs without
   * a timeout may legitimately hold the slot for ever, so a lane holding one is not judged.
   */
  private watchStarts(lane: Lane): void {
    if (lane.startWatch) return;
    // The run in the slot may take its whole timeout before the next one starts.
    let longest = 0, unstarted = 0;
    for (const run of lane.runs) {
      const r = this.runs.get(run);
      if (!r) continue;
      if (r.job.timeoutMs <= 0) return;
      longest = Math.max(longest, r.job.timeoutMs);
      if (!r.timer) unstarted++;
    }
    if (unstarted === 0) return;
    const bound = 2 * longest + START_GRACE_MS;
    const since = Date.now();
    lane.startWatch = setTimeout(() => {
      lane.startWatch = undefined;
      if (!this.lanes.has(lane)) return;
      if (lane.lastReport > since) return this.watchStarts(lane); // it is making progress
      const held = [...lane.runs].map((run) => this.runs.get(run)).filter((r) => r && r.job.timeoutMs > 0 && !r.timer);
      if (held.length === 0) return this.watchStarts(lane);
      const why = `held ${held.length} task(s) with a timeout for ${bound} ms without starting or answering any`;
      this.removeLane(lane, why);
      lane.channel.close(CLOSE.SHUTDOWN, why);
    }, bound);
    lane.startWatch.unref();
  }

  /** Remembers a job's duration estimate for its function (bounded: the oldest are forgotten). */
  private estimate(job: Job): void {
    if (job.ewmaMs === undefined) return;
    if (!this.fnEstimates.delete(job.fn.id) && this.fnEstimates.size >= MAX_FN_ESTIMATES) this.fnEstimates.delete(this.fnEstimates.keys().next().value!);
    this.fnEstimates.set(job.fn.id, job.ewmaMs);
  }

  /** Stops tracking a run: no result for it will be accepted any more. */
  private forget(run: number, r: Run): void {
    this.runs.delete(run);
    r.lane.runs.delete(run);
    if (this.lanes.has(r.lane)) this.hungry.add(r.lane);
    r.lane.pendingMs = r.lane.runs.size === 0 ? 0 : Math.max(0, r.lane.pendingMs - r.est);
    if (r.lane.runs.size === 0) {
      r.lane.idleSince = Date.now();
      r.lane.alone = false;
    }
    clearTimeout(r.timer);
  }

  /** Tasks of `pool`'s unfinished jobs that wait for a slot: what the autoscaler sizes the pool by. */
  backlog(pool: string): number {
    let n = 0;
    for (const job of this.active) if (job.pool === pool) n += job.queued;
    return n;
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

  /**
   * Gives up on runs (timed out, cancelled): their results will be dropped. The lane is told to
   * abort them and takes no new work until each has left its slot, so nothing queues behind a
   * task that may never stop.
   */
  private abandon(lane: Lane, runs: number[]): void {
    for (const run of runs) {
      const r = this.runs.get(run);
      if (r) this.forget(run, r);
      lane.draining.add(run);
    }
    lane.channel.send({ t: 'cancel', runs } satisfies ToAgent);
    // Code that never yields cannot even read the cancel: its agent must replace the lane.
    const check = setTimeout(() => {
      if (this.lanes.has(lane) && runs.some((run) => lane.draining.has(run))) this.signals.emit('stuck', { lane, why: `an aborted task did not leave its slot within ${STUCK_AFTER_MS} ms` });
    }, STUCK_AFTER_MS);
    check.unref();
  }

  /**
   * Keeps a lane's function cache bounded: past MAX_FNS_PER_LANE, the oldest functions that no
   * unfinished job uses are dropped on the agent. Not per finished job: the next job usually
   * runs the same function, and re-sending it would cost frames on every call.
   */
  private trimFns(lane: Lane): void {
    if (lane.fnRefs.size <= MAX_FNS_PER_LANE) return;
    const inUse = new Set<string>();
    for (const job of this.jobs.values()) if (!job.finished) inUse.add(job.fn.id);
    const refs: number[] = [];
    for (const [id, ref] of lane.fnRefs) {
      if (lane.fnRefs.size <= MAX_FNS_PER_LANE / 2) break;
      if (inUse.has(id)) continue;
      lane.fnRefs.delete(id);
      refs.push(ref);
    }
    if (refs.length > 0) lane.channel.send({ t: 'drop', refs } satisfies ToAgent);
  }

  private context(r: Run, lane: Lane) {
    return { jobId: r.job.id, taskIndex: r.index, attempt: r.attempt, pool: r.job.pool, agentId: lane.agentId, host: lane.hello.host, pid: lane.hello.pid };
  }

  /** Fails the task of a run with `error`; it was on the run's lane, as the event stream reports. */
  private fail(r: Run, error: ErrorInfo, u?: TaskUsage): void {
    if (r.at) this.activity.finished(r.job, r.index, r.attempt, r.lane, r.at, error);
    r.job.record(u ? { index: r.index, ok: false, error, u } : { index: r.index, ok: false, error });
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
      const list = byLane.get(r.lane);
      if (list) list.push(run);
      else byLane.set(r.lane, [run]);
    }
    for (const [lane, runs] of byLane) this.abandon(lane, runs);
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
    for (const lane of [...this.lanes]) {
      lane.channel.send({ t: 'shutdown', reason } satisfies ToAgent);
      lane.channel.close(CLOSE.SHUTDOWN, reason);
      this.removeLane(lane, reason);
    }
  }
}
