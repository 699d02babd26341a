/**
 * Checks a submitted flow against its grid and turns it into what runs: stages in dependency
 * order, the decoded rows, and the unit function spec. Every problem is reported at once.
 */
import { decodeValue, encodeValue } from '../../contract/codec.js';
import { FlotillaError } from '../../contract/errors.js';
import { fnSpecId, specArtifacts } from '../../contract/fnspec.js';
import type { FnSpec } from '../../contract/fnspec.js';
import type { FlowStageDef, FlowUnitDef } from '../../contract/flow-unit.js';
import { graphProblems, orderStages } from './graph.js';
import { RESERVED_NAMES } from './schemas.js';
import type { DistributeInput, FlowSubmitInput } from './schemas.js';
import type { FlowProblem } from './types.js';

/** A flow ready to plan. */
export interface PreparedFlow {
  rows: Record<string, unknown>[];
  stages: FlowStageDef[];
  distribute: DistributeInput;
  unitFn: FnSpec;
}

/** Throws one BAD_INPUT listing every problem, with `context.problems` holding them. */
export function throwProblems(problems: readonly FlowProblem[]): never {
  const lines = problems.map((p) => `- ${[p.stage !== undefined ? `stage "${p.stage}"` : '', p.row !== undefined ? `row ${p.row}` : ''].filter(Boolean).join(', ') || 'flow'}: ${p.message}`);
  throw new FlotillaError('BAD_INPUT', `the flow has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`, { context: { problems: [...problems] } });
}

/** Problems of the grid's rows against the stages and `by`: rows that are not objects, missing `by` columns, names that clash. */
export function gridProblems(rows: unknown, stages: readonly { name: string }[], by: readonly string[] | undefined): FlowProblem[] {
  if (!Array.isArray(rows)) return [{ message: 'the grid must be an array of row objects (or paramGrid(...))' }];
  const problems: FlowProblem[] = [];
  const stageNames = new Set(stages.map((s) => s.name));
  const clashes = new Set<string>();
  const missing = new Map<string, number[]>();
  rows.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r) || (Object.getPrototypeOf(r) !== Object.prototype && Object.getPrototypeOf(r) !== null)) {
      if (problems.length < 20) problems.push({ row: i, message: 'is not a plain object of column values' });
      return;
    }
    for (const k of Object.keys(r)) if (stageNames.has(k) || RESERVED_NAMES.includes(k)) clashes.add(k);
    for (const c of by ?? []) {
      if (!(c in r)) {
        const list = missing.get(c) ?? [];
        list.push(i);
        missing.set(c, list);
      }
    }
  });
  for (const k of clashes) {
    problems.push({ message: `column "${k}" ${stageNames.has(k) ? 'has the name of a stage' : 'is a reserved name'}: a collected row holds both params and stage outputs (and status, error, cached), so names must differ` });
  }
  for (const [c, list] of missing) {
    problems.push({ row: list[0], message: `distribute.by names column "${c}", which ${list.length === rows.length ? 'no row has' : `${list.length} row(s) lack (first: ${list.slice(0, 5).join(', ')})`}` });
  }
  return problems;
}

/** Checks and prepares a submitted flow; BAD_INPUT listing every problem. */
export function prepareFlow(input: FlowSubmitInput): PreparedFlow {
  const problems: FlowProblem[] = graphProblems(input.stages).map((message) => ({ message }));
  let rows: unknown;
  try {
    rows = decodeValue(input.grid);
  } catch (err) {
    problems.push({ message: `the grid could not be decoded: ${(err as Error).message}` });
  }
  const distribute = input.distribute ?? {};
  if (rows !== undefined) for (const p of gridProblems(rows, input.stages, distribute.by)) problems.push(p);
  if (problems.length > 0) throwProblems(problems);
  // Agents cache functions by id: a client does not get to choose which cached code its id names.
  const stages = orderStages(input.stages).map((s) => (s.fn ? { ...s, fn: { ...s.fn, id: fnSpecId(s.fn) } } : s)) as FlowStageDef[];
  const def: FlowUnitDef = { stages, within: distribute.within ?? 'inline', workersWithin: distribute.workersWithin ?? 1 };
  const rest: Omit<FnSpec, 'id'> = { src: '', vals: { def: encodeValue(def, 'the flow definition') }, fns: {}, builtin: 'flow-unit' };
  // Module stages' bundles: the scheduler sends them to an agent before the unit function.
  const artifacts = [...new Set(stages.flatMap((s) => (s.fn ? specArtifacts(s.fn) : [])))];
  if (artifacts.length > 0) rest.artifacts = artifacts;
  return { rows: rows as Record<string, unknown>[], stages, distribute, unitFn: { id: fnSpecId(rest), ...rest } };
}
