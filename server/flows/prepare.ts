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
import { gridProblems, throwProblems } from '../../contract/flow-problems.js';
import { RESERVED_NAMES } from '../../contract/flow-schemas.js';
import type { DistributeInput, FlowSubmitInput } from '../../contract/flow-schemas.js';
import type { FlowProblem } from '../../contract/flow-types.js';

export { gridProblems, throwProblems };

/** A flow ready to plan. */
export interface PreparedFlow {
  rows: Record<string, unknown>[];
  stages: FlowStageDef[];
  distribute: DistributeInput;
  unitFn: FnSpec;
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
