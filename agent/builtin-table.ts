/**
 * The table of functions built into the agent (a spec's `builtin` field names one instead of
 * shipping source). Materializing a spec looks builtins up here; the runner fills the table
 * (builtins.ts) when it loads. The seam keeps materialize.ts from importing the builtins
 * themselves, which run flows through stages that materialize functions again.
 */
import { FlotillaError } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';

/** Builds a builtin's task function from its spec (whose decoded `vals` are its input). */
export type BuiltinFactory = (spec: FnSpec) => (arg: unknown, ctx: unknown) => unknown;

const table = new Map<string, BuiltinFactory>();

/** Registers the agent's builtins by name (the runner does, once, when it loads). */
export function registerBuiltins(builtins: Record<string, BuiltinFactory>): void {
  for (const [name, make] of Object.entries(builtins)) table.set(name, make);
}

/** Builds the task function of a builtin spec. */
export function materializeBuiltin(spec: FnSpec): (arg: unknown, ctx: unknown) => unknown {
  const make = spec.builtin === undefined ? undefined : table.get(spec.builtin);
  if (!make) throw new FlotillaError('BAD_INPUT', `this agent has no builtin function ${JSON.stringify(spec.builtin)}`);
  return make(spec);
}
