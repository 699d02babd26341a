/**
 * The controller's view of one connected lane (one task slot of an agent): its channel, the runs
 * it holds, which functions it has been sent, and how many tasks it should hold at once.
 */
import type { SecureChannel } from '../agent/protocol/channel.js';
import type { AgentRuntime } from './runtime/index.js';
import type { LaneInfo } from '../contract/agent-types.js';
import type { WireTask } from '../contract/messages.js';

export type { LaneInfo };

/** Tasks one dispatch gathers for a lane, to go in one frame; `of` names that dispatch's batches. */
export interface Batch {
  of: Map<Lane, Batch>;
  tasks: WireTask[];
  bins: Uint8Array[];
}

/**
 * Besides the running task, a lane holds queued work estimated at up to this many milliseconds,
 * so a slot running short tasks never waits for a round trip. Tasks of unknown or long duration
 * are not queued behind one another: that would make a short task wait behind a long one.
 */
const WINDOW_MS = 2;
/**
 * The window grows to cover two of the lane's measured round trips (dispatch to result, minus
 * the task's own run time), up to this: on a loaded machine or a slow link a round trip takes
 * longer than 2 ms, and a slot would otherwise wait for each refill.
 */
const MAX_WINDOW_MS = 50;
const MAX_RUNS = 512;

export class Lane {
  /** Run handles dispatched to this lane and not yet answered. */
  readonly runs = new Set<number>();
  /** Runs given up on (timed out, cancelled) that may still hold the slot: no new work until they leave it. */
  readonly draining = new Set<number>();
  /** Functions defined on the other end of this connection: content id to connection ref. */
  readonly fnRefs = new Map<string, number>();
  private lastFnRef = 0;
  readonly connectedAt = Date.now();
  completed = 0;
  rssBytes: number | undefined;
  cpu: number | undefined;
  private lastCpu: [at: number, us: number] | undefined;
  /** Estimated milliseconds of work dispatched and not yet answered. */
  pendingMs = 0;
  /** Since when the lane has held no run (its connection time until its first). */
  idleSince = Date.now();
  /** Set when its agent is to leave (scale-down, maxTasks, walltime): it takes no new work. */
  retiring = false;
  /** It holds a task re-run after a lost agent, which runs alone: nothing is queued behind it. */
  alone = false;
  /**
   * A job whose next task this lane could not queue (its duration unknown or longer than the
   * window): the lane then takes nothing more until it drains, and gives that job its next slot.
   * Without it, prefetched short tasks of one job keep the lane busy forever and starve the other.
   */
  reservedFor: { readonly queued: number } | undefined;
  /** Module artifacts sent on this connection. */
  artifactsSent = 0;
  /** When the lane last sent results or a start: what tells a slow lane from one withholding tasks. */
  lastReport = Date.now();
  /** The lane's round trip without the task (ms), a moving average; undefined until measured. */
  roundTripMs: number | undefined;
  /** The batch the dispatch in progress is filling for this lane, if any (see Scheduler.dispatch). */
  batch: Batch | undefined;
  /** Armed while the lane holds runs with a timeout not yet reported started (see Scheduler). */
  startWatch: NodeJS.Timeout | undefined;

  constructor(
    readonly channel: SecureChannel,
    readonly agentId: string,
    readonly pool: string,
    readonly hello: { lane: number; thread?: number; host: string; pid: number; node: string; platform: string; arts?: unknown },
  ) {}

  /** Whether the lane should take one more task estimated at `estMs` (Infinity when unknown). */
  accepts(estMs: number): boolean {
    if (this.draining.size > 0 || this.retiring || this.alone) return false;
    if (this.runs.size === 0) return true;
    return this.runs.size < MAX_RUNS && this.pendingMs + estMs <= this.windowMs;
  }

  /** How much estimated work the lane may hold queued besides its running task (ms). */
  get windowMs(): number {
    return this.roundTripMs === undefined ? WINDOW_MS : Math.min(MAX_WINDOW_MS, Math.max(WINDOW_MS, 2 * this.roundTripMs));
  }

  /** Notes one round trip: a run dispatched to this lane when it held nothing, answered `ms` later, besides its own run time. */
  observeRoundTrip(ms: number): void {
    const v = Math.max(0, ms);
    this.roundTripMs = this.roundTripMs === undefined ? v : this.roundTripMs * 0.8 + v * 0.2;
  }

  /** An agent's heartbeat: its memory, and its CPU time, turned into cores busy since the last. */
  heartbeat(hb: { rssBytes: number; cpuUs?: number }): void {
    this.rssBytes = hb.rssBytes;
    if (hb.cpuUs === undefined) return;
    const now = Date.now();
    // The first heartbeat counts from the connection (the agent's start-up CPU with it).
    const [at, us] = this.lastCpu ?? [this.connectedAt, 0];
    if (now > at) this.cpu = Math.max(0, (hb.cpuUs - us) / 1000 / (now - at));
    this.lastCpu = [now, hb.cpuUs];
  }

  /** A new ref for a function defined on this connection. */
  nextFnRef(): number {
    return ++this.lastFnRef;
  }

  info(): LaneInfo {
    return {
      agentId: this.agentId,
      lane: this.hello.lane,
      pool: this.pool,
      host: this.hello.host,
      pid: this.hello.pid,
      node: this.hello.node,
      platform: this.hello.platform,
      connectedAt: this.connectedAt,
      inFlight: this.runs.size,
      completed: this.completed,
      rssBytes: this.rssBytes,
      cpu: this.cpu,
      artifactTransfers: this.artifactsSent,
    };
  }
}
