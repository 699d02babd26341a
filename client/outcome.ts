import { decodeValue } from '../contract/codec.js';
import { FlotillaError } from '../contract/errors.js';
import type { TaskResult } from '../contract/job-types.js';
import type { TaskUsage } from '../contract/job-types.js';

/** Where a task ran, on its last attempt. */
export interface RanOn {
  /** The attempt that gave this outcome, from 1. */
  attempt?: number;
  agentId?: string;
  host?: string;
  pool?: string;
}

/**
 * When a task ran and what it used. Times are epoch ms on the controller's clock; all are
 * absent for a task that never ran on an agent (cancelled, or failed before it started).
 */
export interface TaskTimings {
  /** When the task was queued (its arguments reached the controller). */
  queuedAt?: number;
  /** When its last attempt started: `finishedAt - durationMs`. */
  startedAt?: number;
  /** When its result reached the controller. */
  finishedAt?: number;
  /** How long its last attempt ran on its agent (ms, sub-millisecond precision). */
  durationMs?: number;
  /**
   * CPU time of its last attempt (ms): a synchronous function's is its duration (it held its
   * thread throughout); an asynchronous one's is measured around its awaits where the platform
   * gives the thread's own CPU clock (Node 23.9 and later, or any Node on a one-slot agent).
   */
  cpuMs?: number;
  /** The agent process's peak resident memory while it ran (bytes), sampled every 100 ms. */
  peakRssBytes?: number;
}

/** A task that returned a value. */
export type TaskSuccess<R> = { index: number; ok: true; value: R } & RanOn & TaskTimings;
/** A task that failed: its error says why, where and on which attempt. */
export type TaskFailure = { index: number; ok: false; error: FlotillaError } & TaskTimings;
/** One task's outcome: success and failure share one shape, told apart by `ok`. */
export type TaskOutcome<R> = TaskSuccess<R> | TaskFailure;

/** Decodes a result as the controller recorded it. */
export function toOutcome<R>(r: TaskResult, pool?: string): TaskOutcome<R> {
  return r.u ? withTimings(outcome<R>(r, pool), r.u) : outcome<R>(r, pool);
}

/** The timings of a result as outcome fields. */
function withTimings<T extends TaskTimings>(o: T, [queuedAt, finishedAt, durationUs, cpuUs, rssKb]: TaskUsage): T {
  o.queuedAt = queuedAt;
  o.durationMs = durationUs / 1000;
  o.finishedAt = finishedAt;
  o.startedAt = Math.round(finishedAt - durationUs / 1000);
  if (cpuUs >= 0) o.cpuMs = cpuUs / 1000;
  if (rssKb >= 0) o.peakRssBytes = rssKb * 1024;
  return o;
}

function outcome<R>(r: TaskResult, pool?: string): TaskOutcome<R> {
  if (r.ok) {
    try {
      return { index: r.index, ok: true, value: decodeValue(r.value) as R, attempt: r.attempt, agentId: r.agentId, host: r.host, pool };
    } catch (err) {
      // Only a broken or hostile agent sends a value that does not decode: fail that task alone.
      return { index: r.index, ok: false, error: new FlotillaError('CHANNEL', `the result of task ${r.index} does not decode: ${(err as Error).message}`, { context: { taskIndex: r.index } }) };
    }
  }
  const error = FlotillaError.fromInfo(r.error);
  error.context.taskIndex ??= r.index;
  error.context.pool ??= pool;
  return { index: r.index, ok: false, error };
}
