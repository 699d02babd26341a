/**
 * One row taken through a flow's stages, in dependency order: cached stages are not run, a
 * failed stage skips what needs it (transitively), everything else still runs. Shared by every
 * `within` mode, so a row ends the same whichever thread or process runs it.
 */
import { encodeValue } from '../../contract/codec.js';
import type { Encoded } from '../../contract/codec.js';
import type { ErrorInfo } from '../../contract/errors.js';
import type { FlowRowResult, FlowUnitRow, StageOutcome } from '../../contract/flow-unit.js';
import { toErrorInfo } from '../error-info.js';
import type { BuiltStage } from './stages.js';

/** What a row's stages get besides their input. */
export interface RowEnv {
  attempt: number;
  signal: AbortSignal;
  setup?: unknown;
}

/** Told about each stage as it starts and ends, with a finished value already encoded for the wire. */
export interface RowHooks {
  onStart?(stage: string): void;
  onOutcome?(stage: string, outcome: StageOutcome, encoded: Encoded | undefined): void;
}

/** A stage not run because `failed` (a stage it needs, directly or not) failed. */
export function skipped(failed: string, ms = 0): StageOutcome {
  return { ok: false, error: { code: 'SKIPPED', message: `not run: stage "${failed}" failed` }, ms };
}

/**
 * Runs one row. Resolves with every stage's outcome; rejects only with the abort reason when
 * `env.signal` aborts, since an aborted row's outcome is not wanted.
 */
export async function runRow(stages: readonly BuiltStage[], row: FlowUnitRow, env: RowEnv, hooks: RowHooks = {}): Promise<FlowRowResult> {
  const outcomes: Record<string, StageOutcome> = {};
  const values: Record<string, unknown> = {};
  // For a failed or skipped stage: the stage whose failure is the root of it.
  const rootFailure = new Map<string, string>();
  for (const stage of stages) {
    const { name, needs } = stage.def;
    if (env.signal.aborted) throw env.signal.reason;
    let outcome: StageOutcome;
    let encoded: Encoded | undefined;
    const failedNeed = (needs ?? []).find((n) => rootFailure.has(n));
    if (row.done && Object.hasOwn(row.done, name)) {
      values[name] = row.done[name];
      outcome = { ok: true, value: row.done[name], ms: 0, cached: true };
    } else if (failedNeed !== undefined) {
      const root = rootFailure.get(failedNeed)!;
      rootFailure.set(name, root);
      outcome = skipped(root);
    } else {
      hooks.onStart?.(name);
      const input: Record<string, unknown> = { ...row.params };
      const needed: Record<string, unknown> = {};
      for (const n of needs ?? []) input[n] = needed[n] = values[n];
      const t0 = performance.now();
      try {
        const value = await stage.run(input, needed, { index: row.row, attempt: env.attempt, signal: env.signal, setup: env.setup });
        // Checked here, not when the unit's result is sent: one bad value fails its stage, not the unit.
        encoded = encodeValue(value, `the output of stage "${name}"`);
        values[name] = value;
        outcome = { ok: true, value, ms: performance.now() - t0 };
      } catch (err) {
        if (env.signal.aborted) throw env.signal.reason;
        rootFailure.set(name, name);
        outcome = { ok: false, error: stageError(err, name, row.row, performance.now() - t0), ms: performance.now() - t0 };
      }
    }
    outcomes[name] = outcome;
    hooks.onOutcome?.(name, outcome, encoded ?? (outcome.ok ? encodeValue(outcome.value) : undefined));
  }
  return { row: row.row, stages: outcomes };
}

/** A stage's failure as it travels: the runner's shape, with the stage and row named. */
export function stageError(err: unknown, stage: string, row: number, durationMs: number): ErrorInfo {
  return toErrorInfo(err, { stage, row, durationMs: Math.round(durationMs) });
}
