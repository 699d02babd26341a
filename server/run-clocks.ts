/**
 * The clocks on runs: a task's timeout (counted by the controller from the start its lane
 * reports), the bound on a lane that neither starts nor answers its tasks, and aborting runs
 * (timed out, cancelled) with a check that they leave their slot.
 */
import type { ToAgent } from '../contract/messages.js';
import { CLOSE } from '../agent/protocol/channel.js';
import type { Lane } from './lane.js';
import type { RunTable } from './run-table.js';

/** An aborted run still in its slot after this long is stuck (agents allow async tasks 1 s). */
const STUCK_AFTER_MS = 2_000;

/**
 * A run with a timeout must be reported started within twice its timeout plus this, counted from
 * dispatch, while its lane reports nothing else: time for the frame, the function's imports and
 * setups, and the short tasks queued ahead of it. A lane past that is withholding the task.
 */
const START_GRACE_MS = 10_000;

/** What the clocks act on when they run out. */
export interface ClockHost {
  /** Whether the lane is still connected. */
  hasLane(lane: Lane): boolean;
  /** Takes a lane away (its runs go back to the queue). */
  removeLane(lane: Lane, why: string): void;
  /** Fills lanes again: a slot may have freed up. */
  dispatch(): void;
  /** A lane whose aborted run still holds its slot: its agent should replace it. */
  stuck(lane: Lane, why: string): void;
}

export class RunClocks {
  constructor(
    private readonly runs: RunTable,
    private readonly host: ClockHost,
  ) {}

  /** A run with a timeout has started on its lane: the controller's clock is the one that counts. */
  startClock(lane: Lane, run: number): void {
    const r = this.runs.get(run);
    if (!r || r.lane !== lane || r.job.timeoutMs <= 0 || r.timer) return;
    r.timer = setTimeout(() => {
      if (this.runs.get(run) !== r) return;
      this.abandon(lane, [run]);
      this.runs.fail(r, { code: 'TIMEOUT', message: `task timed out after ${r.job.timeoutMs} ms`, context: { ...this.runs.context(r, r.lane), timedOut: true } });
      this.host.dispatch();
    }, r.job.timeoutMs);
    r.timer.unref();
  }

  /**
   * The timeout counts from dispatch as well as from the reported start: a lane holding runs with
   * a timeout that it neither starts nor answers, and that reports nothing else meanwhile, loses
   * its connection, and its runs go back to the queue under the usual retry rules. Runs without
   * a timeout may legitimately hold the slot for ever, so a lane holding one is not judged.
   */
  watchStarts(lane: Lane): void {
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
      if (!this.host.hasLane(lane)) return;
      if (lane.lastReport > since) return this.watchStarts(lane); // it is making progress
      const held = [...lane.runs].map((run) => this.runs.get(run)).filter((r) => r && r.job.timeoutMs > 0 && !r.timer);
      if (held.length === 0) return this.watchStarts(lane);
      const why = `held ${held.length} task(s) with a timeout for ${bound} ms without starting or answering any`;
      this.host.removeLane(lane, why);
      lane.channel.close(CLOSE.SHUTDOWN, why);
    }, bound);
    lane.startWatch.unref();
  }

  /**
   * Gives up on runs (timed out, cancelled): their results will be dropped. The lane is told to
   * abort them and takes no new work until each has left its slot, so nothing queues behind a
   * task that may never stop.
   */
  abandon(lane: Lane, runs: number[]): void {
    for (const run of runs) {
      const r = this.runs.get(run);
      if (r) this.runs.forget(run, r);
      lane.draining.add(run);
    }
    lane.channel.send({ t: 'cancel', runs } satisfies ToAgent);
    // Code that never yields cannot even read the cancel: its agent must replace the lane.
    const check = setTimeout(() => {
      if (this.host.hasLane(lane) && runs.some((run) => lane.draining.has(run))) this.host.stuck(lane, `an aborted task did not leave its slot within ${STUCK_AFTER_MS} ms`);
    }, STUCK_AFTER_MS);
    check.unref();
  }
}
