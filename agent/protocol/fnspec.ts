import type { Encoded } from './codec.js';

/**
 * A function as it is shipped to agents: its source plus the globals it was given explicitly.
 * Built by client/ship.ts, turned back into a callable by agent/materialize.ts.
 */
export interface FnSpec {
  /** Content hash of `src`, `vals` and `fns`: agents cache the materialized function under it. */
  id: string;
  /** The function's source: a JavaScript expression that evaluates to the function. */
  src: string;
  /** Globals that are values, encoded with the value codec; in scope under their names. */
  vals: Record<string, Encoded>;
  /** Globals that are functions, as expression sources; in scope for `src` and for each other. */
  fns: Record<string, string>;
}
