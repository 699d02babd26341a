/**
 * Functions built into the agent, named by a spec's `builtin` field instead of shipped source:
 * they run flotilla's own machinery (a flow unit) with the spec's decoded `vals` as input. The
 * runner registers them in builtin-table.ts, where materializing a spec finds them.
 */
import type { BuiltinName } from '../contract/fnspec.js';
import type { BuiltinFactory } from './builtin-table.js';
import { flowUnit } from './flow/unit.js';

/** Every builtin, by the name a spec's `builtin` field gives. */
export const BUILTINS: Record<BuiltinName, BuiltinFactory> = {
  'flow-unit': (spec) => flowUnit(spec) as (arg: unknown, ctx: unknown) => unknown,
};
