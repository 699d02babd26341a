/**
 * Parameter grids: every combination of some columns' values, like R's `expand.grid`, except that
 * the FIRST column varies slowest (the order of nested loops, and of parade's `param_grid`): for
 * `{ a: [1, 2], b: ['x', 'y'] }` the rows are a1 bx, a1 by, a2 bx, a2 by.
 */
import { FlotillaError } from '../../contract/errors.js';

/** The row type of a grid built from these columns. */
export type GridRow<C extends Record<string, readonly unknown[]>> = { [K in keyof C]: C[K][number] };

/**
 * Every combination of the columns' values, one row object each, first column slowest.
 * @example paramGrid({ subject: ['s01', 's02'], session: [1, 2] }) // 4 rows
 * @throws FlotillaError BAD_INPUT when a column is not an array (an empty one gives no rows)
 */
export function paramGrid<C extends Record<string, readonly unknown[]>>(columns: C): GridRow<C>[] {
  if (columns === null || typeof columns !== 'object' || Array.isArray(columns)) {
    throw new FlotillaError('BAD_INPUT', 'paramGrid() takes an object of columns, e.g. paramGrid({ alpha: [0.1, 1], seed: [1, 2, 3] })');
  }
  const names = Object.keys(columns);
  for (const n of names) {
    if (!Array.isArray(columns[n])) throw new FlotillaError('BAD_INPUT', `paramGrid column "${n}" must be an array of values, got ${typeof columns[n]}`);
  }
  let rows: Record<string, unknown>[] = [{}];
  // Extending rows column by column, each old row before the next: the first column varies slowest.
  for (const n of names) {
    const next: Record<string, unknown>[] = [];
    for (const r of rows) for (const v of columns[n]!) next.push({ ...r, [n]: v });
    rows = next;
  }
  return names.length === 0 ? [] : (rows as GridRow<C>[]);
}
