import { decodeValue } from '../agent/protocol/codec.js';
import { FlotillaError } from '../agent/protocol/errors.js';
import type { TaskResult } from '../server/job.js';

/** Where a task ran, on its last attempt. */
export interface RanOn {
  /** The attempt that gave this outcome, from 1. */
  attempt?: number;
  agentId?: string;
  host?: string;
  pool?: string;
}

/** A task that returned a value. */
export type TaskSuccess<R> = { index: number; ok: true; value: R } & RanOn;
/** A task that failed: its error says why, where and on which attempt. */
export type TaskFailure = { index: number; ok: false; error: FlotillaError };
/** One task's outcome: success and failure share one shape, told apart by `ok`. */
export type TaskOutcome<R> = TaskSuccess<R> | TaskFailure;

/** Decodes a result as the controller recorded it. */
export function toOutcome<R>(r: TaskResult, pool?: string): TaskOutcome<R> {
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
