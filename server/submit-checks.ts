/**
 * What a submit must pass before anything is created for it. A job's arguments and globals
 * arrive decoded (JSON.parse does not recurse) but every later step (the store, the frames to
 * agents, superjson) does, so their depth is bounded here, where a failure is the caller's
 * BAD_INPUT and nothing is scheduled yet.
 */
import type { Encoded } from '../contract/codec.js';
import { FlotillaError } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';
import { assertWireDepth } from '../contract/bounds.js';
import { MAX_TOTAL } from '../contract/schemas.js';

export { MAX_TOTAL };

/** Names in one function's `globals` (values and functions), at most: each is a parameter of its factory. */
export const MAX_GLOBALS = 4096;

/** Throws BAD_INPUT naming the first argument that is not an encoded value within bounds. */
export function checkArgs(args: readonly Encoded[], offset: number): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Encoded | undefined;
    const what = `the argument of task ${offset + i}`;
    if (typeof a !== 'object' || a === null || !('j' in a)) throw new FlotillaError('BAD_INPUT', `${what} is not an encoded value ({ j, m?, b? })`);
    if (a.b !== undefined && !(Array.isArray(a.b) && a.b.every((b) => b instanceof Uint8Array))) throw new FlotillaError('BAD_INPUT', `${what} has binary parts that are not bytes`);
    assertWireDepth(a, what);
  }
}

/** Throws BAD_INPUT for too many globals, or a value global nested too deep. */
export function checkGlobals(fn: FnSpec): void {
  const names = Object.keys(fn.vals ?? {}).length + Object.keys(fn.fns ?? {}).length;
  if (names > MAX_GLOBALS) throw new FlotillaError('BAD_INPUT', `a function may have at most ${MAX_GLOBALS} globals, got ${names}`);
  for (const [k, v] of Object.entries(fn.vals ?? {})) assertWireDepth(v, `global "${k}"`);
}
