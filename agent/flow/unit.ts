/**
 * The `flow-unit` builtin: one task that takes a few grid rows through a flow's stages, inline,
 * on worker threads or in child processes as the unit's definition says.
 */
import { decodeValue } from '../../contract/codec.js';
import { FlotillaError } from '../../contract/errors.js';
import type { FnSpec } from '../../contract/fnspec.js';
import type { FlowRowResult, FlowUnitDef, FlowUnitInput, FlowUnitResult, FlowUnitRow } from '../../contract/flow-unit.js';
import type { TaskContext } from '../../contract/task-context.js';
import { runInline } from './inline.js';
import { ensureStageArtifacts } from './module-stage.js';
import { runPool } from './pool.js';
import { buildStages, checkDef } from './stages.js';
import type { BuiltStage } from './stages.js';

/** A flow unit's task function. */
export type FlowUnitFn = (input: FlowUnitInput, ctx: TaskContext) => Promise<FlowUnitResult>;

/**
 * Builds the task function of a `flow-unit` spec: `vals.def` is the encoded FlowUnitDef.
 * @throws FlotillaError BAD_INPUT when the definition is missing or malformed.
 */
export function flowUnit(spec: FnSpec): FlowUnitFn {
  const enc = spec.vals?.def;
  if (enc === undefined) throw new FlotillaError('BAD_INPUT', 'a flow-unit spec needs vals.def (the encoded FlowUnitDef)');
  const def: FlowUnitDef = checkDef(decodeValue(enc));
  // Inline stages are built on first use and kept: the runner keeps this function per lane.
  let stages: BuiltStage[] | undefined;
  return async (input, ctx) => {
    const rows = checkInput(input);
    const signal = ctx.signal;
    if (signal.aborted) throw signal.reason;
    if (rows.length === 0) return [];
    // A one-row unit's result follows its row at once: reporting the row too would only double it.
    const onRow = rows.length > 1 ? rowReporter(ctx) : undefined;
    if (def.within === 'inline') {
      stages ??= buildStages(def);
      return runInline(stages, rows, def.workersWithin, { attempt: ctx.attempt, signal, setup: ctx.setup }, onRow);
    }
    await ensureStageArtifacts(def);
    if (signal.aborted) throw signal.reason;
    return runPool(def, rows, { attempt: ctx.attempt, signal, onRow });
  };
}

/**
 * Sends each finished row to the controller at once (`ctx.emit`), so its progress moves row by
 * row and its cache keeps the rows of a unit that dies later. The unit's value still lists
 * every row: the controller takes a row seen twice in its stride.
 */
function rowReporter(ctx: TaskContext): ((r: FlowRowResult) => void) | undefined {
  if (typeof ctx.emit !== 'function') return undefined;
  return (r) => {
    try {
      ctx.emit!(r);
    } catch {
      // Every stage value was checked encodable when its stage ended: the unit's result will carry the row.
    }
  };
}

function checkInput(input: FlowUnitInput): FlowUnitRow[] {
  if (input === null || typeof input !== 'object' || !Array.isArray(input.rows)) throw new FlotillaError('BAD_INPUT', 'a flow unit task needs { rows: FlowUnitRow[] } as its argument');
  input.rows.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || !Number.isInteger(r.row) || r.params === null || typeof r.params !== 'object') {
      throw new FlotillaError('BAD_INPUT', `flow unit row ${i} must be { row, group, params, done? }, got ${JSON.stringify(r)}`);
    }
  });
  return input.rows;
}
