/**
 * Functions built into the agent, named by a spec's `builtin` field instead of shipped source:
 * they run flotilla's own machinery (a flow unit) with the spec's decoded `vals` as input.
 */
import { FlotillaError } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';
import { flowUnit } from './flow/unit.js';

/** Builds the task function of a builtin spec. */
export function materializeBuiltin(spec: FnSpec): (arg: unknown, ctx: unknown) => unknown {
  switch (spec.builtin) {
    case 'flow-unit':
      return flowUnit(spec) as (arg: unknown, ctx: unknown) => unknown;
    default:
      throw new FlotillaError('BAD_INPUT', `this agent has no builtin function ${JSON.stringify(spec.builtin)}`);
  }
}
