/**
 * The stage graph of a flow: duplicate names, needs that name no stage, and cycles are refused,
 * each named; stages come back in an order where every stage follows what it needs.
 */
import { FlotillaError } from '../../contract/errors.js';

/** What the graph check needs of a stage. */
export interface StageNode {
  name: string;
  needs: readonly string[];
}

/** Problems of a stage graph, in words; empty when it is sound. */
export function graphProblems(stages: readonly StageNode[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const s of stages) {
    if (names.has(s.name)) problems.push(`stage "${s.name}" is defined twice`);
    names.add(s.name);
  }
  for (const s of stages) {
    for (const n of s.needs) {
      if (n === s.name) problems.push(`stage "${s.name}" needs itself`);
      else if (!names.has(n)) problems.push(`stage "${s.name}" needs "${n}", which is not a stage of this flow (stages: ${[...names].join(', ')})`);
    }
  }
  if (problems.length === 0) {
    const cycle = findCycle(stages);
    if (cycle) problems.push(`stages form a cycle: ${cycle.join(' -> ')}`);
  }
  return problems;
}

/** Stages in dependency order (stable: ties keep the given order); BAD_INPUT when unsound. */
export function orderStages<S extends StageNode>(stages: readonly S[]): S[] {
  const problems = graphProblems(stages);
  if (problems.length > 0) throw new FlotillaError('BAD_INPUT', `flow stages: ${problems.join('; ')}`, { context: { problems: problems.map((message) => ({ message })) } });
  const out: S[] = [];
  const placed = new Set<string>();
  while (out.length < stages.length) {
    for (const s of stages) {
      if (!placed.has(s.name) && s.needs.every((n) => placed.has(n))) {
        out.push(s);
        placed.add(s.name);
      }
    }
  }
  return out;
}

function findCycle(stages: readonly StageNode[]): string[] | undefined {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const state = new Map<string, 1 | 2>(); // 1: on the path, 2: finished
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 2) return undefined;
    if (state.get(name) === 1) return [...path.slice(path.indexOf(name)), name];
    state.set(name, 1);
    path.push(name);
    for (const n of byName.get(name)?.needs ?? []) {
      const c = visit(n);
      if (c) return c;
    }
    path.pop();
    state.set(name, 2);
    return undefined;
  };
  for (const s of stages) {
    const c = visit(s.name);
    if (c) return c;
  }
  return undefined;
}
