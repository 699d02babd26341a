/**
 * A flow's problems, checked the same way on both sides: the client checks its grid before it
 * sends anything, the controller checks what it is sent; either reports every problem at once.
 */
import { FlotillaError } from './errors.js';
import { RESERVED_NAMES } from './option-schemas.js';
import type { FlowProblem } from './flow-types.js';

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
