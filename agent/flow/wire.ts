/**
 * Messages between a flow unit and its worker threads or child processes. Both carry them by
 * structured clone (threads natively, processes with `serialization: 'advanced'`); stage values
 * cross already encoded, so a value that cannot travel fails its stage the same way in every mode.
 */
import type { Encoded } from '../../contract/codec.js';
import type { ErrorInfo } from '../../contract/errors.js';
import type { FlowUnitDef, FlowUnitRow } from '../../contract/flow-unit.js';

/** `workerData` of a flow worker thread; main.ts tells it from a lane by this flag. */
export interface FlowWorkerData {
  flowWorker: true;
}

/** The flag main.ts recognizes on a flow worker process's command line. */
export const FLOW_WORKER_FLAG = '--flow-worker';

/** Unit to worker: the definition once, then rows one at a time, then `end` or `abort`. */
export type ToFlowWorker =
  | { t: 'def'; def: FlowUnitDef; attempt: number }
  | { t: 'row'; i: number; row: FlowUnitRow }
  /** Stop the row in flight (commands killed) and exit. */
  | { t: 'abort' }
  /** No more rows: exit. */
  | { t: 'end' };

/** A stage outcome with its value encoded. */
export type WireOutcome = { ok: true; value: Encoded; ms: number; cached?: true } | { ok: false; error: ErrorInfo; ms: number };

/** Worker to unit: each stage as it starts and ends, then the row's end. */
export type FromFlowWorker =
  | { t: 'start'; i: number; stage: string }
  | { t: 'outcome'; i: number; stage: string; outcome: WireOutcome }
  | { t: 'done'; i: number };
