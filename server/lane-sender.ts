/**
 * What goes down a lane: batches of tasks in one frame, the functions they call (defined once
 * per lane, with the module artifacts they need), and the trimming of a lane's function cache.
 */
import { packEncoded } from '../contract/messages.js';
import type { ToAgent, WireTask } from '../contract/messages.js';
import { specArtifacts } from '../contract/fnspec.js';
import type { Job } from './job.js';
import type { Lane } from './lane.js';
import type { ArtifactShipping } from './agent-artifacts.js';
import type { RunTable } from './run-table.js';

/** Functions (with their value globals) an agent lane keeps defined at most. */
const MAX_FNS_PER_LANE = 64;

export class LaneSender {
  constructor(
    private readonly runs: RunTable,
    private readonly shipping: ArtifactShipping,
    /** Jobs the controller keeps: the functions of unfinished ones stay defined on lanes. */
    private readonly jobs: () => Iterable<Job>,
  ) {}

  /**
   * Sends a batch of tasks. A frame that cannot be built (an argument the wire cannot carry, or
   * a batch too large for one frame) is sent again task by task, and a task that still cannot go
   * fails on its own: nothing stays "in flight" on a lane that never got it.
   */
  send(lane: Lane, tasks: WireTask[], bins: Uint8Array[]): void {
    try {
      lane.channel.send({ t: 'run', tasks } satisfies ToAgent, bins);
    } catch (err) {
      if (tasks.length === 1) return this.unsendable(lane, tasks[0]!, err);
      return this.oneByOne(lane, tasks, bins);
    }
    // Its results will come: their frame's cipher is made while the agent runs the tasks.
    lane.channel.prepare();
  }

  /** Sends each task of a batch that could not go as one frame on its own. */
  private oneByOne(lane: Lane, tasks: WireTask[], bins: Uint8Array[]): void {
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
    this.runs.forget(run, r);
    this.runs.fail(r, { code: 'BAD_INPUT', message: `this task's argument could not be sent to an agent: ${(err as Error)?.message ?? String(err)}`, context: { jobId: r.job.id, taskIndex: r.index, pool: r.job.pool } });
  }

  /** The ref `job`'s tasks use on `lane`, defining its function there first if needed. */
  fnRef(lane: Lane, job: Job): number {
    return lane.fnRefs.get(job.fn.id) ?? this.sendFn(lane, job);
  }

  /** Defines a job's function on a lane; returns the ref its tasks use there. */
  sendFn(lane: Lane, job: Job): number {
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
   * Keeps a lane's function cache bounded: past MAX_FNS_PER_LANE, the oldest functions that no
   * unfinished job uses are dropped on the agent. Not per finished job: the next job usually
   * runs the same function, and re-sending it would cost frames on every call.
   */
  private trimFns(lane: Lane): void {
    if (lane.fnRefs.size <= MAX_FNS_PER_LANE) return;
    const inUse = new Set<string>();
    for (const job of this.jobs()) if (!job.finished) inUse.add(job.fn.id);
    const refs: number[] = [];
    for (const [id, ref] of lane.fnRefs) {
      if (lane.fnRefs.size <= MAX_FNS_PER_LANE / 2) break;
      if (inUse.has(id)) continue;
      lane.fnRefs.delete(id);
      refs.push(ref);
    }
    if (refs.length > 0) lane.channel.send({ t: 'drop', refs } satisfies ToAgent);
  }
}
