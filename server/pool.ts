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
import type { Lane } from './lane.js';
import type { AgentExit, AgentHandle, Launcher } from './launchers/launcher.js';
import type { CommonPoolOptions, PoolPlan, SlotOffer } from './pool-options.js';
import { agentsToLaunch, idleToRetire, retireAt } from './autoscaler.js';
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

/** Options of a pool of local agents. */
export interface LocalPoolOptions extends CommonPoolOptions {
  launcher: 'local';
  /** A fixed number of agent processes: min = max = agents. @default the machine's cores, when neither min nor max is given */
  agents?: number;
  /** Task slots per agent (each a thread). @default 1 */
  slots?: number;
  /** Node binary for agents. @default the controller's */
  node?: string;
  /**
   * Environment for agents beyond what they get from the controller's: an allow-list (PATH, HOME,
   * locale, proxies, module systems, conda, GPUs, thread counts...), never its secrets.
   */
  env?: Record<string, string>;
}

/** Launch failures in a row after which a pool stops trying. */
const MAX_FAILURES = 3;
/** An agent that exits this soon after connecting, other than cleanly, counts as a failed launch; one connected longer proves the pool healthy. */
const EARLY_EXIT_MS = 5_000;
/** How often a pool looks at its backlog, its idle lanes and its agents' ages. */
const TICK_MS = 100;
/** A retired agent has this long to leave once told to, before it is killed. */
const STOP_GRACE_MS = 5_000;

/** The last lines an agent wrote to stderr, on one line. */
function tailOf(exit: AgentExit): string {
  return exit.stderrTail.trim().split('\n').slice(-5).join(' | ');
}

/** One agent of the pool, from its launch to its exit. */
interface Agent {
  id: string;
  /** Launch order in the pool: spreads the ends of agents' lives. */
  serial: number;
  launchedAt: number;
  /** Undefined while the launch is in flight. */
  handle: AgentHandle | undefined;
  /** When its process started running (launch done; SLURM: job seen running), for `connectTimeout`. */
  startedAt: number | undefined;
  /** Why it is being stopped for not connecting in time; its exit then counts as a failed launch. */
  timedOut: string | undefined;
  /** When its first lane connected: its life (and a SLURM job's clock) began about then. */
  connectedAt: number | undefined;
  /** When it should stop taking work, for a pool with a walltime. */
  endOfLife: number | undefined;
  /** Why it is retiring, once it is. */
  retiring: string | undefined;
  stopping: boolean;
  /** Its lanes as last seen; one that has gone leaves its count in `pastTasks`. */
  lanes: Set<Lane>;
  pastTasks: number;
}

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
    this.inUse = true;
    if (!this.tick) {
      this.tick = setInterval(() => this.step(), TICK_MS);
      this.tick.unref();
    }
    if (this.stepQueued) return;
    this.stepQueued = true;
    queueMicrotask(() => {
      this.stepQueued = false;
      this.step();
    });
  }

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
      else if (maxTasks !== undefined && this.tasksOf(a) >= maxTasks) this.retire(a, `it ran ${maxTasks} tasks`);
    }
    const min = this.inUse ? this.opts.min : 0;
    const active = [...this.agents.values()].filter((a) => !a.retiring);
    const idle = active.filter((a) => a.handle && !a.timedOut).map((a) => ({ id: a.id, idleSince: this.idleSince(a, backlog) }));
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
    const byAgent = new Map<string, Lane[]>();
    for (const lane of this.scheduler.lanes) {
      if (lane.pool !== this.name || !this.agents.has(lane.agentId)) continue;
      const list = byAgent.get(lane.agentId);
      if (list) list.push(lane);
      else byAgent.set(lane.agentId, [lane]);
    }
    for (const a of this.agents.values()) {
      for (const l of a.lanes) {
        if (this.scheduler.lanes.has(l)) continue;
        a.pastTasks += l.completed;
        a.lanes.delete(l);
      }
      for (const l of byAgent.get(a.id) ?? []) a.lanes.add(l);
      this.slotsSeen = Math.max(this.slotsSeen, a.lanes.size);
      if (a.connectedAt === undefined && a.lanes.size > 0) {
        a.connectedAt = Math.min(now, ...[...a.lanes].map((l) => l.connectedAt));
        if (this.opts.walltimeMs !== undefined) a.endOfLife = retireAt(a.connectedAt, this.opts.walltimeMs, a.serial);
      }
    }
  }

  /** Tasks an agent has run or holds, over all its connections. */
  private tasksOf(a: Agent): number {
    let n = a.pastTasks;
    for (const l of a.lanes) n += l.completed + l.runs.size;
    return n;
  }

  /**
   * Since when every slot of an agent has been empty; undefined while any holds a run. One not
   * connected (yet, or again) counts as idle since its launch only while no task waits: a queued
   * SLURM job nobody needs any more is cancelled, one that tasks wait for is not.
   */
  private idleSince(a: Agent, backlog: number): number | undefined {
    if (a.lanes.size === 0) return backlog === 0 ? a.launchedAt : undefined;
    let since = 0;
    for (const l of a.lanes) {
      if (l.runs.size > 0 || l.draining.size > 0) return undefined;
      since = Math.max(since, l.idleSince);
    }
    return since;
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
    const a: Agent = { id: creds.agentId, serial: this.serial++, launchedAt: Date.now(), handle: undefined, startedAt: undefined, timedOut: undefined, connectedAt: undefined, endOfLife: undefined, retiring: undefined, stopping: false, lanes: new Set(), pastTasks: 0 };
    this.agents.set(a.id, a);
    let handle: AgentHandle;
    try {
      handle = await this.launcher.launch(creds);
    } catch (err) {
      this.agents.delete(a.id);
      this.registry.revoke(a.id);
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
    if (this.ctx.events.watched) this.ctx.events.emit('agent.exited', { pool: this.name, agentId: a.id, code: exit.exitCode, signal: exit.signal, reason: this.exitReason(a, exit), stderrTail: tailOf(exit) });
    if (this.closing) return;
    if (a.retiring) {
      // Stopped by us (SIGTERM, stdin closed or scancel): however it reports that, it is no failure.
      this.failures = 0;
      this.step();
      return;
    }
    const handle = a.handle!;
    if (a.timedOut) {
      this.failed(`${a.timedOut}; its stderr: ${tailOf(exit) || '(none)'}`);
      this.step();
      return;
    }
    if (exit.lostConnection) {
      // Its host's connection dropped: not a failed launch. Start it again (the launcher
      // re-opens the connection, with backoff).
      this.log(`pool ${this.name}: agent ${handle.agentId} lost with its connection to ${handle.host}`);
      this.step();
      return;
    }
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
    if (a.connectedAt === undefined) {
      // Never connected, however it ended (a clean exit included: the agent gives up on a
      // controller it cannot reach): the launch failed, and relaunching blindly would loop.
      this.failed(`agent ${handle.agentId} on ${handle.host}${handle.pid === undefined ? '' : ` (pid ${handle.pid})`} ended before it connected (${how}, ${Date.now() - a.launchedAt} ms after launch); its stderr: ${tailOf(exit) || '(none)'}`);
      this.step();
      return;
    }
    if (exit.exitCode === 0) {
      this.failures = 0;
      // It left on its own: idle past its own timeout, or told to stop (SIGTERM) mid-job. With
      // no unfinished job, `min` waits for the next one instead of starting it again now.
      if (!this.ctx.hasWork()) this.inUse = false;
      this.step();
      return;
    }
    this.log(`pool ${this.name}: agent ${handle.agentId} (pid ${handle.pid}) ended: ${how}`);
    const connectedMs = Date.now() - a.connectedAt;
    if (connectedMs < EARLY_EXIT_MS && !exit.signal) this.failed(`agent ${handle.agentId} exited ${connectedMs} ms after connecting with ${how}: ${tailOf(exit)}`);
    else this.failures = 0;
    this.step();
  }

  /** Why an agent ended, in a word or two, for the event stream. */
  private exitReason(a: Agent, exit: AgentExit): string {
    if (this.closing) return 'pool closing';
    if (a.retiring) return `retired: ${a.retiring}`;
    if (a.timedOut) return 'did not connect in time';
    if (exit.lostConnection) return 'lost with its host connection';
    if (a.connectedAt === undefined) return 'ended before it connected';
    return exit.exitCode === 0 ? 'left on its own' : 'crashed';
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
