/**
 * The controller's view of one connected lane (one task slot of an agent): its channel, the runs
 * it holds, which functions it has been sent, and how many tasks it should hold at once.
 */
import type { SecureChannel } from '../agent/protocol/channel.js';

/** Work worth this many milliseconds sits in a lane, so a slot never waits for a round trip. */
const WINDOW_MS = 2;
const MIN_WINDOW = 2;
const MAX_WINDOW = 512;

/** What `agents.list` reports for a lane. */
export interface LaneInfo {
  agentId: string;
  lane: number;
  pool: string;
  host: string;
  pid: number;
  node: string;
  platform: string;
  connectedAt: number;
  inFlight: number;
  completed: number;
  rssBytes: number | undefined;
}

export class Lane {
  /** Run handles dispatched to this lane and not yet answered. */
  readonly runs = new Set<number>();
  /** Function ids already defined on the other end of this connection. */
  readonly fnsSent = new Set<string>();
  readonly connectedAt = Date.now();
  completed = 0;
  rssBytes: number | undefined;
  /** Mean task duration on this lane (ms). */
  private ewmaMs: number | undefined;

  constructor(
    readonly channel: SecureChannel,
    readonly agentId: string,
    readonly pool: string,
    readonly hello: { lane: number; host: string; pid: number; node: string; platform: string },
  ) {}

  /** How many more runs this lane should get now. */
  get space(): number {
    const w = this.ewmaMs === undefined ? MIN_WINDOW : Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Math.ceil(WINDOW_MS / Math.max(this.ewmaMs, 0.001))));
    return w - this.runs.size;
  }

  observe(durationMs: number): void {
    this.ewmaMs = this.ewmaMs === undefined ? durationMs : this.ewmaMs * 0.9 + durationMs * 0.1;
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
    };
  }
}
