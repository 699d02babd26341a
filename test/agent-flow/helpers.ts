/**
 * Building flow units by hand for the agent-side tests: stages from real functions (shipped the
 * way the client ships them) or argv templates, and a unit function straight from the builtin.
 */
import { encodeValue } from '../../contract/codec.js';
import { fnSpecId } from '../../contract/fnspec.js';
import type { FnSpec } from '../../contract/fnspec.js';
import type { FlowStageDef, FlowUnitDef, FlowUnitInput, FlowUnitResult, FlowUnitRow, Within } from '../../contract/flow-unit.js';
import type { TaskContext } from '../../contract/task-context.js';
import { BUILTINS } from '../../agent/builtins.js';
import { shipFunction } from '../../client/ship.js';
import type { Session } from '../../client/index.js';

/** A function stage. */
export function fnStage(name: string, fn: (input: any, ctx: TaskContext) => unknown, more: Partial<FlowStageDef> & { globals?: Record<string, unknown> } = {}): FlowStageDef {
  const { globals, ...rest } = more;
  return { name, needs: [], fn: shipFunction(fn, globals ?? {}), ...rest };
}

/** A command stage. */
export function cmdStage(name: string, cmd: string[], more: Partial<FlowStageDef> = {}): FlowStageDef {
  return { name, needs: [], cmd, ...more };
}

/** The FnSpec of a flow unit, built the way the controller builds it. */
export function unitSpec(stages: FlowStageDef[], within: Within = 'inline', workersWithin = 1): FnSpec {
  const def: FlowUnitDef = { stages, within, workersWithin };
  const base = { builtin: 'flow-unit' as const, src: '', vals: { def: encodeValue(def) }, fns: {} };
  return { id: fnSpecId(base), ...base };
}

/** The unit's task function, from the builtin directly (inline mode runs in this thread). */
export function unitFn(stages: FlowStageDef[], within: Within = 'inline', workersWithin = 1): (input: FlowUnitInput, ctx?: Partial<TaskContext>) => Promise<FlowUnitResult> {
  const fn = BUILTINS['flow-unit'](unitSpec(stages, within, workersWithin)) as (input: FlowUnitInput, ctx: TaskContext) => Promise<FlowUnitResult>;
  return (input, ctx = {}) => fn(input, { index: 0, attempt: 1, signal: new AbortController().signal, ...ctx });
}

/** Rows from params, each its own group unless `group` says otherwise. */
export function rowsOf(params: Array<Record<string, unknown>>, group: (i: number) => number = (i) => i): FlowUnitRow[] {
  return params.map((p, i) => ({ row: i, group: group(i), params: p }));
}

/**
 * Submits one flow unit as a one-task job on a session's embedded controller, as the flow
 * manager does, and gives back the job id and the unit's result.
 */
export function submitUnit(fl: Session, spec: FnSpec, input: FlowUnitInput): { jobId: string; result: Promise<FlowUnitResult> } {
  const controller = fl.controller;
  if (!controller) throw new Error('submitUnit needs an embedded controller');
  const { jobId } = controller.submit({ fn: spec, args: [encodeValue(input)] });
  const result = fl.attach<FlowUnitResult>(jobId).then(([r]) => r!);
  return { jobId, result };
}
