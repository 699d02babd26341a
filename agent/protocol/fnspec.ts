import { createHash } from 'node:crypto';
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
  /** A predicate on a thrown error, in the same scope: true asks for the task to be re-run. */
  retryIf?: string;
}

/** Content hash over every part of the spec, so agents can cache what they built under it. */
export function fnSpecId({ src, vals, fns, retryIf }: Omit<FnSpec, 'id'>): string {
  const h = createHash('sha256');
  // Length prefixes keep the concatenation unambiguous.
  const put = (s: string): void => {
    h.update(`${Buffer.byteLength(s)}:`).update(s);
  };
  put('flotilla.fn.v1');
  put(src);
  if (retryIf !== undefined) put(`r:${retryIf}`);
  for (const name of Object.keys(fns).sort()) {
    put(`f:${name}`);
    put(fns[name] ?? '');
  }
  for (const name of Object.keys(vals).sort()) {
    const e = vals[name];
    if (!e) continue;
    put(`v:${name}`);
    put(stableJson(e.j));
    put(e.m === undefined ? '-' : stableJson(e.m));
    put(String(e.b?.length ?? 0));
    for (const bytes of e.b ?? []) h.update(`${bytes.byteLength}:`).update(bytes);
  }
  return h.digest('hex');
}

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_key, x: unknown) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
    return Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }) ?? 'undefined';
}
