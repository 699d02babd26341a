/**
 * What lanes report: results (recorded once, for the run the controller still expects), partial
 * values, heartbeats and requests for module artifacts. An agent is authenticated, not trusted
 * to be well-formed: every message is checked before it is acted on.
 */
import { FlotillaError } from '../contract/errors.js';
import type { ErrorInfo } from '../contract/errors.js';
import { unpackEncoded } from '../contract/messages.js';
import type { ToController } from '../contract/messages.js';
import type { TaskUsage } from './task-usage.js';
import type { Job } from './job.js';
import type { Lane } from './lane.js';
import type { ArtifactShipping } from './agent-artifacts.js';
import type { RunTable, Run } from './run-table.js';
import type { RunClocks } from './run-clocks.js';
import { checkMessage, checkPart, checkResult } from './wire-checks.js';

/** What the scheduler does with what lanes report. */
export interface ReportHost {
  /** Puts a run's task back in its queue for another attempt, unless it is pinned to its lane; says whether it did. */
  sendBack(r: Run, error: ErrorInfo): boolean;
  /** A lane was set to retire (it takes no new work): the pools' books changed. */
  retiring(lane: Lane): void;
  /** A lane to replace now (its agent should start a fresh one), and why. */
  replace(lane: Lane, why: string): void;
  /** The lane reported: it may take more work. */
  reported(lane: Lane): void;
  /** An aborted run left the lane's slot: the lane may take work again. */
  freed(lane: Lane): void;
  /** Notes a job's task duration estimate for its function (once a frame per job). */
  estimate(job: Job): void;
}

export class LaneReports {
  /** Lanes to replace once they hold no run (a setup there timed out), with the reason. */
  private readonly recycling = new Map<Lane, string>();

  constructor(
    private readonly runs: RunTable,
    private readonly clocks: RunClocks,
    private readonly shipping: ArtifactShipping,
    private readonly host: ReportHost,
  ) {}

  /** Acts on one message of `lane`; throws CHANNEL for a malformed one (its lane then goes). */
  handle(lane: Lane, msg: ToController, bins: Buffer[]): void {
    switch (msg.t) {
      case 'need':
        this.shipping.send(lane, [checkMessage('need', msg).hash], true);
        return;
      case 'res':
        return this.results(lane, msg, bins);
      case 'part':
        return this.parts(lane, msg, bins);
      case 'hb':
        // Shown to every client by agents.list: a bad value must end this agent, not the listing.
        lane.heartbeat(checkMessage('hb', msg));
        return;
      default:
        return;
    }
  }

  private results(lane: Lane, msg: Extract<ToController, { t: 'res' }>, bins: Buffer[]): void {
    if (!Array.isArray(msg.r)) throw new FlotillaError('CHANNEL', 'results message without a result list');
    const arrived = Date.now(); // when these tasks finished, on the controller's clock
    let estimated: Job | undefined; // noted per job once a frame, not once a result
    for (const item of msg.r) {
      const [run, ok, payload, durationUs, cpuUs = -1, rssKb = -1] = checkResult(item, bins.length);
      if (lane.draining.delete(run)) {
        this.host.freed(lane);
        continue; // an aborted run has left its slot
      }
      const r = this.runs.get(run);
      if (!r || r.lane !== lane) continue; // stale: re-dispatched elsewhere
      this.runs.forget(run, r);
      lane.completed++;
      r.job.observe(durationUs / 1000);
      if (r.job !== estimated) {
        if (estimated) this.host.estimate(estimated);
        estimated = r.job;
      }
      const u: TaskUsage = [r.job.queuedAt(r.index), arrived, durationUs, cpuUs, rssKb];
      if (ok) {
        // Copy binary parts out of the frame so a small result does not pin a large frame.
        const enc = unpackEncoded(payload, bins);
        if (enc.b) enc.b = enc.b.map((b) => Uint8Array.prototype.slice.call(b));
        this.runs.succeeded(r);
        r.job.record({ index: r.index, ok: true, value: enc, attempt: r.attempt, agentId: lane.agentId, host: lane.hello.host, u });
      } else if (payload.action === 'retry' && r.attempt <= r.job.retries && this.host.sendBack(r, payload)) {
        // The job's retryIf accepted this error (on the agent, where the error is): sent back.
      } else {
        this.runs.fail(r, { ...payload, context: { ...(payload.context ?? {}), ...this.runs.context(r, lane) } }, u);
        if (payload.code === 'SETUP_FAILED' && payload.action === 'replace-lane') this.recycleWhenIdle(lane, payload.message);
      }
    }
    if (estimated) this.host.estimate(estimated);
    lane.lastReport = Date.now();
    if (typeof msg.s === 'number') this.clocks.startClock(lane, msg.s);
    this.recycleIfIdle(lane);
    this.host.reported(lane);
  }

  /**
   * A setup (or an import) on `lane` did not settle in time: its code may still run there. The
   * lane takes no new work and is replaced once the runs it holds have answered.
   */
  private recycleWhenIdle(lane: Lane, why: string): void {
    if (this.recycling.has(lane)) return;
    lane.retiring = true;
    this.recycling.set(lane, why);
    this.host.retiring(lane);
  }

  private recycleIfIdle(lane: Lane): void {
    const why = this.recycling.get(lane);
    if (why === undefined || lane.runs.size > 0 || lane.draining.size > 0) return;
    this.recycling.delete(lane);
    this.host.replace(lane, why);
  }

  /** The lane is gone: nothing to replace. */
  forget(lane: Lane): void {
    this.recycling.delete(lane);
  }

  private parts(lane: Lane, msg: Extract<ToController, { t: 'part' }>, bins: Buffer[]): void {
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
  }
}
