/**
 * Where a flow's units run: what one unit requires of its slot, and whether the chosen pool
 * can give it, as preflight problems rather than a failure after submit.
 */
import { FlotillaError } from '../../contract/errors.js';
import type { ControlPlane } from '../control-plane.js';
import { choosePool } from '../routing.js';
import type { Requirements } from '../routing.js';
import type { DistributeInput } from '../../contract/flow-schemas.js';
import type { FlowProblem } from '../../contract/flow-types.js';

/** What one unit needs from its slot: the user's `requires`, else as many cores as rows run at once. */
export function unitRequires(d: DistributeInput): Requirements | undefined {
  if (d.requires) return d.requires;
  const w = d.workersWithin ?? 1;
  return w > 1 ? { cores: w } : undefined;
}

/** Problems of running units with these options on this controller: the pool exists and can meet what a unit requires. */
export function placementProblems(plane: Pick<ControlPlane, 'pools' | 'defaultPool'>, d: DistributeInput = {}): FlowProblem[] {
  try {
    const pool = choosePool(plane.pools, { pool: d.pool, requires: unitRequires(d) }, plane.defaultPool);
    return pool.failure ? [{ message: `pool "${pool.name}" cannot start agents: ${pool.failure}` }] : [];
  } catch (err) {
    const why = FlotillaError.from(err).message;
    const auto = !d.requires && (d.workersWithin ?? 1) > 1 ? ` (a unit requires cores = workersWithin = ${d.workersWithin}; give distribute({ requires }) or a pool with larger slots)` : '';
    return [{ message: `${why}${auto}` }];
  }
}
