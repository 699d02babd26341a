/**
 * `within: 'inline'`: a unit's rows run in the task's own thread, at most `workersWithin` at a
 * time. Concurrency is asynchronous: it overlaps commands and awaited I/O, not CPU-bound code.
 */
import type { FlowRowResult, FlowUnitResult, FlowUnitRow } from '../../contract/flow-unit.js';
import { runRow } from './run-row.js';
import type { RowEnv } from './run-row.js';
import type { BuiltStage } from './stages.js';

/**
 * Runs the rows, resolving with their results in input order; `onRow` hears of each row as it
 * finishes. On abort it waits for every row in flight to stop (their commands killed) before
 * rejecting with the abort reason.
 */
export async function runInline(stages: readonly BuiltStage[], rows: readonly FlowUnitRow[], limit: number, env: RowEnv, onRow?: (r: FlowRowResult) => void): Promise<FlowUnitResult> {
  const results: FlowUnitResult = new Array(rows.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < rows.length && !env.signal.aborted) {
      const i = next++;
      const r = (results[i] = await runRow(stages, rows[i]!, env));
      onRow?.(r);
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, rows.length) }, lane));
  if (env.signal.aborted) throw env.signal.reason;
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results;
}
