/**
 * What becomes of the runs of a lane that went away: only a run known to have been in its slot
 * counts as an attempt (and a crash); one past its retries fails with AGENT_LOST, one past its
 * crashLimit with POISONOUS, one pinned to the lane (`everywhere`) with AGENT_LOST. The others
 * go back to the queue as if never sent.
 */
import type { ErrorContext } from '../contract/errors.js';
import { RUNNING } from './job.js';
import type { Job } from './job.js';
import type { Lane } from './lane.js';
import type { Run, RunTable } from './run-table.js';

export interface LostRunsHost {
  /** Set while shutting down: runs go with their lanes, nothing is re-queued. */
  readonly closing: boolean;
  pinned(job: Job): boolean;
  /** Puts a run's task back in its job's queue. */
  requeue(r: Run, how: { uncharged?: boolean; crashed?: boolean }): void;
}

/** Settles the runs `lane` held when it went away (`why`; `died`: how its agent ended). */
export function settleLostRuns(runs: RunTable, lane: Lane, why: string, died: ErrorContext | undefined, host: LostRunsHost): void {
  // An aborted run still held the slot: then none of the runs queued behind it had started.
  // Several runs held: no telling which was in the slot. Tiny tasks run many per event-loop
  // turn and their results leave together, so the first may have finished (its result lost
  // with the agent) and a later one have been the crash. None is charged then; each re-runs
  // alone (see dispatch), where a loss names its task.
  let started = lane.draining.size === 0 && lane.runs.size === 1;
  for (const run of lane.runs) {
    const r = runs.get(run);
    runs.delete(run);
    if (!r || r.job.state[r.index] !== RUNNING) continue;
    clearTimeout(r.timer);
    const charged = started;
    started = false;
    if (host.closing) continue;
    const context = { ...runs.context(r, lane), ...died };
    if (host.pinned(r.job)) {
      // Pinned to this lane: no other lane may run it instead.
      runs.fail(r, { code: 'AGENT_LOST', message: `lane ${lane.hello.lane} of agent ${lane.agentId} went away before this task finished (${why})`, context });
      continue;
    }
    if (!charged) {
      host.requeue(r, { uncharged: true });
      continue;
    }
    const crashes = r.job.crashed(r.index);
    if (crashes >= r.job.crashLimit) {
      runs.fail(r, { code: 'POISONOUS', message: `this task was running on ${crashes} agents that died (last: ${lane.agentId}, ${why}); failed as poisonous (crashLimit ${r.job.crashLimit})`, context });
    } else if (r.attempt > r.job.retries) {
      runs.fail(r, { code: 'AGENT_LOST', message: `agent ${lane.agentId} was lost while running this task (${why}); gave up after ${r.attempt} attempt(s)`, context });
    } else {
      host.requeue(r, { crashed: true });
    }
  }
  lane.runs.clear();
  lane.draining.clear();
}
