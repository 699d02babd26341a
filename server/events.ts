/**
 * The control plane as an event stream: what the core (scheduler, jobs, pools, launchers) tells
 * whoever listens (the dashboard, the CLI, a metrics exporter, a test). Any number of subscribers;
 * each gets every event emitted after it subscribed, synchronously and in order. A subscriber
 * that throws is unsubscribed and the error reported once; it never breaks the emitter.
 *
 * Events carry small plain objects (ids, counts, reasons), never task values: a 1,000,000-task job
 * emits `task` events in batches, not one object per task, so a listener's cost stays bounded.
 */
import type { JobStatus } from './job.js';
import type { LaneInfo } from './lane.js';
import type { PoolStatus } from './pool.js';
import type { ErrorInfo } from '../contract/errors.js';

/** Task state changes of one job since the last `tasks` event of that job (coalesced per tick). */
export interface TaskBatch {
  job: string;
  /** Tasks dispatched to a slot: [index, attempt, agentId, lane, startedAt ms]. */
  started: Array<[index: number, attempt: number, agentId: string, lane: number, at: number]>;
  /** Tasks finished: [index, attempt, agentId, lane, startedAt ms, finishedAt ms, ok]. */
  finished: Array<[index: number, attempt: number, agentId: string, lane: number, startedAt: number, finishedAt: number, ok: boolean]>;
  /** Failures among `finished`, with their error (remote stack and context included), at most 20 per batch. */
  failures: Array<{ index: number; attempt: number; error: ErrorInfo }>;
  /** Tasks handed back to the queue (agent lost, cancelled run). */
  requeued: number;
  /** Started or finished entries left out of this batch to keep it bounded (4096 of each at most). */
  omitted?: number;
}

/** Every event the control plane emits, by name. */
export interface ControlEvents {
  'job.submitted': { job: string; pool: string; total: number; flow?: string };
  'job.finished': { job: string; status: JobStatus };
  /** A job's counts moved (done / failed / running / queued); coalesced, at most one per job per tick. */
  'job.progress': { job: string; status: JobStatus };
  tasks: TaskBatch;
  'lane.added': { lane: LaneInfo };
  'lane.removed': { agentId: string; lane: number; pool: string; reason?: string };
  'pool.status': { pool: PoolStatus };
  'agent.launched': { pool: string; agentId: string; host?: string; pid?: number; batchJob?: string };
  'agent.exited': { pool: string; agentId: string; code: number | null; signal: string | null; reason?: string; stderrTail?: string };
  'launch.failed': { pool: string; reason: string; inARow: number; backoffMs?: number };
  'agent.log': { agentId: string; line: string };
}

export type ControlEventName = keyof ControlEvents;
export type ControlEvent = { [K in ControlEventName]: { type: K } & ControlEvents[K] }[ControlEventName];
export type Listener = (event: ControlEvent) => void;

/** A typed, multi-subscriber event stream. */
export class ControlEventStream {
  readonly #listeners = new Set<Listener>();

  /** Receive every event from now on; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** True when someone listens: emitters skip building events nobody reads. */
  get watched(): boolean {
    return this.#listeners.size > 0;
  }

  emit<K extends ControlEventName>(type: K, body: ControlEvents[K]): void {
    if (this.#listeners.size === 0) return;
    const event = { type, ...body } as ControlEvent;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#listeners.delete(listener);
        process.emitWarning(`a control-event listener threw and was removed: ${String(err)}`);
      }
    }
  }
}
