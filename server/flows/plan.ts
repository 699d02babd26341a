/**
 * A flow's distribution plan, as pure functions: rows are grouped by the `by` columns, groups
 * larger than `chunksPerJob` are split into consecutive pieces (without `by`, single rows are
 * packed `chunksPerJob` a unit), and with `targetJobs` the pieces are packed into that many units,
 * balanced by row count (longest first, each to the unit with the fewest rows), never splitting one.
 */
import { rowHash } from './keys.js';

/** One row of a planned unit. */
export interface PlannedRow {
  row: number;
  group: number;
}

/** The plan's inputs. */
export interface PlanOptions {
  by?: readonly string[];
  chunksPerJob?: number;
  targetJobs?: number;
}

/**
 * Group index of every row: rows with equal values in the `by` columns share one, numbered in
 * order of first appearance; without `by`, each row is its own group.
 */
export function groupRows(rows: readonly Record<string, unknown>[], by: readonly string[] | undefined): number[] {
  if (!by || by.length === 0) return rows.map((_, i) => i);
  const ids = new Map<string, number>();
  return rows.map((r) => {
    const key = rowHash(Object.fromEntries(by.map((c) => [c, r[c]])));
    let g = ids.get(key);
    if (g === undefined) ids.set(key, (g = ids.size));
    return g;
  });
}

/**
 * The units of a flow: each a list of rows in grid order. Only rows in `pending` (grid indices,
 * ascending) are planned: rows already complete in the cache are not sent.
 */
export function planUnits(groups: readonly number[], pending: readonly number[], opts: PlanOptions): PlannedRow[][] {
  const grouped = !!opts.by && opts.by.length > 0;
  const pieces: PlannedRow[][] = [];
  if (grouped) {
    const chunk = opts.chunksPerJob ?? Infinity;
    const members = new Map<number, PlannedRow[]>();
    for (const row of pending) {
      const group = groups[row]!;
      let list = members.get(group);
      if (!list) members.set(group, (list = []));
      list.push({ row, group });
    }
    for (const list of members.values()) {
      for (let i = 0; i < list.length; i += chunk) pieces.push(list.slice(i, i + chunk));
    }
  } else {
    const chunk = opts.chunksPerJob ?? 1;
    for (let i = 0; i < pending.length; i += chunk) pieces.push(pending.slice(i, i + chunk).map((row) => ({ row, group: groups[row]! })));
  }
  const target = opts.targetJobs;
  if (target === undefined || pieces.length <= target) return pieces;
  return pack(pieces, target);
}

/** Longest-first greedy packing of pieces into `n` bins balanced by rows; rows of a bin in grid order. */
function pack(pieces: PlannedRow[][], n: number): PlannedRow[][] {
  const bins: PlannedRow[][] = Array.from({ length: n }, () => []);
  const order = pieces.map((p, i) => i).sort((a, b) => pieces[b]!.length - pieces[a]!.length || a - b);
  for (const i of order) {
    let best = 0;
    for (let b = 1; b < n; b++) if (bins[b]!.length < bins[best]!.length) best = b;
    for (const piece of pieces[i]!) bins[best]!.push(piece);
  }
  for (const b of bins) b.sort((x, y) => x.row - y.row);
  return bins.filter((b) => b.length > 0);
}
