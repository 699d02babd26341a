/**
 * The ridge sweep's task code as a module, for `moduleOf` (examples/flow-sweep.ts): it imports
 * the data generator and the model like any program would, and is bundled and shipped whole.
 */
import { makeData } from './ridge-data.js';
import type { Synthetic } from './ridge-data.js';
import { evaluate } from './ridge-model.js';
import type { GridPoint } from './ridge-model.js';

/** The sweep's data set: the same on every agent, since it comes from a fixed seed. */
export const DATA = { n: 2000, p: 40, k: 5, nonZero: 8, noiseSd: 2, seed: 20240611 } as const;

// Module state lives as long as the agent's lane: the data is made once per lane, not per row.
let data: Synthetic | undefined;

/** Cross-validates one grid point; returns its held-out error and how long it took there. */
export function cv(point: GridPoint): { mse: number; sd: number; ms: number } {
  data ??= makeData({ ...DATA });
  const r = evaluate({ lambda: point.lambda, degree: point.degree, standardize: point.standardize }, data);
  return { mse: r.mse, sd: r.sd, ms: r.ms };
}
