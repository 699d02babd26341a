/**
 * A pool: a named set of agents started by one launcher, sized by its work. It launches agents
 * while tasks wait for a slot (up to `max`), keeps `min` while in use, and retires agents idle
 * past `idleTimeout`, those that ran `maxTasks` and those near their `walltime`, replacing them
 * while work needs them. A retiring agent takes no new task; once its runs are done it is
 * stopped and its key revoked, a clean exit that is neither a failure nor a reason to relaunch.
 * A crashed or lost agent is replaced; launches that keep failing stop, with the reason kept. An
 * agent that connects no lane within `connectTimeout` of starting is stopped as a failed launch,
 * and so is one that exits before it connects, however it exits: a slow machine makes agents
 * slow to start, and a launch that never connected did no work. Failures count in a row: an
 * agent launched after the last failure that stays connected past EARLY_EXIT_MS resets the count.
 */
import type { FlotillaError } from '../contract/errors.js';
import type { AgentRegistry } from './registry.js';
import type { Scheduler } from './scheduler.js';
import type { AgentExit, AgentHandle, Launcher } from './launchers/launcher.js';
import type { PoolPlan, SlotOffer } from './pool-options.js';
import { agentsToLaunch, idleToRetire } from './autoscaler.js';
import { EARLY_EXIT_MS, exitMeaning, exitReason, idleSince, newAgent, noteLanes, tailOf, tasksOf } from './pool-agent.js';
import type { Agent } from './pool-agent.js';
import { Emitter } from './emitter.js';
import type { ControlEventStream } from './events.js';
import type { PoolStatus } from '../contract/agent-types.js';

export type { PoolStatus };

/** What a pool needs from the controller besides its launcher and the scheduler. */
export interface PoolContext {
  /** The control-event stream its launches, exits and status changes go to. */
  events: ControlEventStream;
  /** Whether jobs of this pool are unfinished. */
  hasWork(): boolean;
}

/** Launch failures in a row after which a pool stops trying. */
const MAX_FAILURES = 3;
/** How often a pool looks at its backlog, its idle lanes and its agents' ages. */
const TICK_MS = 100;
/** A retired agent has this long to leave once told to, before it is killed. */
const STOP_GRACE_MS = 5_000;

export class Pool {
  readonly handles = new Map<string, AgentHandle>();
  private readonly agents = new Map<string, Agent>();
  private serial = 0;
  /** Most lanes seen on one agent: slots per agent when the pool leaves it to the agents. */
  private slotsSeen = 0;
  private failures = 0;
  private closing = false;
  /** False after agents left on their own with no work to do: `min` waits for the next job. */
  private inUse = true;
  private retry: NodeJS.Timeout | undefined;
  private tick: NodeJS.Timeout | undefined;
  /** The scheduler's lanesVersion at the last observe. */
  private observedLanes = -1;
  /** Set while a step is scheduled for the end of this turn: many submits in one turn size the pool once. */
  private stepQueued = false;
  /** Why the pool stopped launching, when it did. */
  failure: string | undefined;
  /** The last failed launch, and when, until a later launch proves the pool healthy. */
  private lastFailure: string | undefined;
  private failedAt = 0;
  /** `failed`: the pool gave up launching (with why), so its queued work can fail instead of waiting. */
  readonly signals = new Emitter<{ failed: string }>();
  /** The status last sent to the event stream, to send only changes. */
  private reported = '';

  constructor(
    readonly name: string,
    readonly opts: PoolPlan,
    readonly launcher: Launcher,
    private readonly registry: AgentRegistry,
    private readonly agentUrl: string,
    private readonly log: (line: string) => void,
    private readonly scheduler: Scheduler,
    private readonly ctx: PoolContext,
  ) {}

  /** What one task slot gets, for routing. */
  get slot(): SlotOffer {
    return this.opts.slot;
  }

  get labels(): readonly string[] {
    return this.opts.labels;
  }

  /** Work arrived (or the pool starts): size the pool now, and from now on every tick. */
  ensure(): void {
    if (this.closing) return;
    const idle = !this.inUse || !this.tick;
    this.inUse = true;
    if (!this.tick) {
      this.tick = setInterval(() => this.step(), TICK_MS);
      this.tick.unref();
    }
    if (this.stepQueued) return;
    this.stepQueued = true;
    queueMicrotask(idle ? this.stepNow : this.stepIfBacklog);
  }

  // Made once: a submit of one task costs no closure here.
  private readonly stepNow = (): void => {
    this.stepQueued = false;
    this.step();
  };
  /**
   * A pool already in use re-sizes at once only for work that found no free slot (the tick's
   * time-based decisions wait for the tick): a single task dispatched to an idle lane, the usual
   * one-at-a-time submit, then costs no round of decisions.
   */
  private readonly stepIfBacklog = (): void => {
    this.stepQueued = false;
    if (this.scheduler.backlog(this.name) > 0) this.step();
  };

  /** One round of decisions: retire who should go, stop who has drained, launch what is needed. */
  private step(): void {
    if (this.closing) return;
    const now = Date.now();
    this.observe(now);
    const backlog = this.scheduler.backlog(this.name);
    if (backlog > 0) this.inUse = true;
    const { maxTasks, walltimeMs, idleTimeoutMs, connectTimeoutMs } = this.opts;
    for (const a of this.agents.values()) {
      if (this.failures > 0 && !this.failure && a.launchedAt > this.failedAt && a.connectedAt !== undefined && now - a.connectedAt >= EARLY_EXIT_MS) {
        this.failures = 0; // a launch after the last failure works: the next failure starts a new row
        this.lastFailure = undefined;
      }
      if (a.retiring || a.timedOut || !a.handle) continue;
      if (connectTimeoutMs !== undefined && a.connectedAt === undefined && a.startedAt !== undefined && now - a.startedAt >= connectTimeoutMs) {
        this.timeOut(a, connectTimeoutMs);
        continue;
      }
      if (a.endOfLife !== undefined && now >= a.endOfLife) this.retire(a, `its walltime (${walltimeMs} ms) is near`);
      else if (maxTasks !== undefined && tasksOf(a) >= maxTasks) this.retire(a, `it ran ${maxTasks} tasks`);
    }
    const min = this.inUse ? this.opts.min : 0;
    const active = [...this.agents.values()].filter((a) => !a.retiring);
    const idle = active.filter((a) => a.handle && !a.timedOut).map((a) => ({ id: a.id, idleSince: idleSince(a, backlog) }));
    for (const id of idleToRetire(idle, active.length, min, idleTimeoutMs, now)) this.retire(this.agents.get(id)!, `idle for ${idleTimeoutMs} ms`);
    for (const a of this.agents.values()) {
      // Asked each round: a lane that connected since (a reconnect) must stop taking work too.
      if (a.retiring && !a.stopping && this.scheduler.retireAgent(a.id) === 0) this.stop(a);
    }
    if (this.failure || this.retry) return this.report(); // given up, or backing off after a failed launch
    const live = [...this.agents.values()].filter((a) => !a.retiring);
    const n = agentsToLaunch({
      backlog,
      // Only a backlog asks for slots: without one, free slots change nothing (and counting them walks every lane).
      freeSlots: backlog > 0 ? this.scheduler.freeLanes(this.name) : 0,
      starting: live.filter((a) => a.lanes.size === 0).length,
      active: live.length,
      slotsPerAgent: this.opts.slots ?? (this.slotsSeen || 1),
      min,
      max: this.opts.max,
      maxLaunching: this.opts.maxLaunching,
    });
    for (let i = 0; i < n; i++) void this.launchOne();
    this.report();
  }

  /** Sends the pool's status to the event stream when it changed (and someone listens). */
  private report(): void {
    if (!this.ctx.events.watched || this.closing) return;
    const pool = this.status();
    const key = `${pool.agents} ${pool.running} ${pool.starting} ${pool.retiring} ${pool.failure}`;
    if (key === this.reported) return;
    this.reported = key;
    this.ctx.events.emit('pool.status', { pool });
  }

  /**
   * Lanes came or went: note first connections now, not at the next tick, so an agent that
   * connects and is killed between two ticks is not taken for one that never connected.
   */
  lanesChanged(): void {
    if (this.closing) return;
    this.observe(Date.now());
    this.report();
  }

  /**
   * Why tasks of this pool that wait for a slot are not running, when no connected lane of the
   * pool takes work; undefined while one does (they wait their turn).
   */
  waitingReason(): string | undefined {
    if ([...this.scheduler.lanes].some((l) => l.pool === this.name && !l.retiring)) return undefined;
    if (this.failure) return this.failure;
    const starting = [...this.agents.values()].filter((a) => !a.retiring && a.lanes.size === 0).length;
    if (this.retry) return `pool ${this.name} launches again soon after ${this.failures} failed launch(es) in a row (the pool stops after ${MAX_FAILURES}); last: ${this.lastFailure}`;
    if (starting > 0) return `pool ${this.name}: ${starting} agent(s) starting${this.lastFailure ? `; last failed launch: ${this.lastFailure}` : ''}`;
    return `pool ${this.name} has no agent taking work`;
  }

  /** Matches connected lanes to agents; notes first connections and the ends of lives they set. */
  private observe(now: number): void {
    // Called on every tick and every change of the scheduler: the walk over every lane is for
    // when lanes came or went.
    if (this.scheduler.lanesVersion === this.observedLanes) return;
    this.observedLanes = this.scheduler.lanesVersion;
    this.slotsSeen = Math.max(this.slotsSeen, noteLanes(this.agents, this.scheduler.lanes, this.name, now, this.opts.walltimeMs));
  }

  private retire(a: Agent, why: string): void {
    a.retiring = why;
    this.log(`pool ${this.name}: retiring agent ${a.id}: ${why}`);
    this.scheduler.retireAgent(a.id);
  }

  /**
   * Stops an agent that connected no lane in time (wrong address, a firewall, a hung start). It
   * still counts as starting until it has gone, so its replacement waits for the failure's backoff.
   */
  private timeOut(a: Agent, ms: number): void {
    const h = a.handle!;
    a.timedOut = `agent ${a.id} on ${h.host}${h.pid === undefined ? '' : ` (pid ${h.pid})`} did not connect within ${ms} ms (connectTimeout)`;
    this.log(`pool ${this.name}: ${a.timedOut}; stopping it`);
    this.registry.revoke(a.id);
    h.stop(STOP_GRACE_MS).catch((err: unknown) => this.log(`pool ${this.name}: stopping agent ${a.id} failed: ${(err as Error).message}`));
  }

  /** Stops a drained retiring agent; its exit then says it is gone. */
  private stop(a: Agent): void {
    a.stopping = true;
    this.registry.revoke(a.id);
    a.handle!.stop(STOP_GRACE_MS).catch((err: unknown) => this.log(`pool ${this.name}: stopping agent ${a.id} failed: ${(err as Error).message}`));
  }

  private async launchOne(): Promise<void> {
    const creds = this.registry.issue(this.name, this.agentUrl, {
      slots: this.opts.slots,
      cores: this.opts.slot.cores,
      idleTimeoutMs: this.opts.agentIdleTimeoutMs,
      graceMs: this.opts.graceMs,
    });
    const a = newAgent(creds.agentId, this.serial++);
    this.agents.set(a.id, a);
    let handle: AgentHandle;
    try {
      handle = await this.launcher.launch(creds);
    } catch (err) {
      this.agents.delete(a.id);
      this.registry.revoke(a.id);
      if (this.closing) return; // the launcher closed under it: not a failure to count
      this.failed(`launch failed: ${(err as Error).message}`, (err as FlotillaError).action === 'give-up');
      return;
    }
    if (this.closing) {
      this.agents.delete(a.id);
      this.registry.revoke(a.id);
      await handle.stop(0);
      return;
    }
    a.handle = handle;
    this.handles.set(handle.agentId, handle);
    if (this.ctx.events.watched) this.ctx.events.emit('agent.launched', { pool: this.name, agentId: handle.agentId, host: handle.host, pid: handle.pid, batchJob: handle.batchJob });
    if (handle.started) void handle.started.then(() => (a.startedAt ??= Date.now()));
    else a.startedAt = Date.now();
    void handle.exited.then((exit) => this.exited(a, exit));
  }

  private exited(a: Agent, exit: AgentExit): void {
    this.agents.delete(a.id);
    this.handles.delete(a.id);
    this.registry.revoke(a.id);
    if (this.ctx.events.watched) this.ctx.events.emit('agent.exited', { pool: this.name, agentId: a.id, code: exit.exitCode, signal: exit.signal, reason: this.closing ? 'pool closing' : exitReason(a, exit), stderrTail: tailOf(exit) });
    if (this.closing) return;
    const m = exitMeaning(a, exit, Date.now());
    if (m.log) this.log(`pool ${this.name}: ${m.log}`);
    if (m.failed) this.failed(m.failed);
    else if (m.healthy) this.failures = 0;
    if (m.leftOnItsOwn && !this.ctx.hasWork()) this.inUse = false;
    this.step();
  }

  private failed(reason: string, permanent = false): void {
    this.failures++;
    this.lastFailure = reason;
    this.failedAt = Date.now();
    this.log(`pool ${this.name}: ${reason}`);
    const givesUp = !this.failure && (permanent || this.failures >= MAX_FAILURES);
    // Launches in flight at once count as one round: one backoff for them all.
    const backoffMs = this.failure || givesUp || this.retry ? undefined : 500 * 2 ** this.failures;
    if (this.ctx.events.watched) this.ctx.events.emit('launch.failed', { pool: this.name, reason, inARow: this.failures, ...(backoffMs === undefined ? {} : { backoffMs }) });
    if (this.failure) return;
    if (givesUp) {
      this.failure = `pool ${this.name} stopped launching after ${this.failures} failures in a row; last: ${reason}`;
      this.signals.emit('failed', this.failure);
      this.report();
      return;
    }
    if (backoffMs === undefined) return;
    // Try again, later each time.
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.step();
    }, backoffMs);
    this.retry.unref();
  }

  status(): PoolStatus {
    this.observe(Date.now());
    let running = 0, starting = 0, retiring = 0;
    for (const a of this.agents.values()) {
      if (a.retiring) retiring++;
      else if (a.lanes.size > 0) running++;
      else starting++;
    }
    const { min, max } = this.opts;
    return { name: this.name, launcher: this.launcher.kind, agents: this.agents.size, min, max, running, starting, retiring, failure: this.failure, hosts: this.launcher.status?.() };
  }

  /** Stops every agent (politely, then by force) and revokes their keys. */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    clearInterval(this.tick);
    clearTimeout(this.retry);
    await Promise.allSettled([...this.handles.values()].map((h) => h.stop(graceMs)));
    for (const id of this.agents.keys()) this.registry.revoke(id);
    this.handles.clear();
    this.agents.clear();
    await this.launcher.close();
  }
}
