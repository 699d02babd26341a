/**
 * What the flow cache already holds for a flow's rows. A stage is taken from the cache only
 * where every stage it needs is too, so an agent never holds an output whose inputs it would
 * compute anew (and a changed upstream stage re-runs everything after it).
 */
import { decodeValue } from '../../agent/protocol/codec.js';
import type { FlowDb } from './db.js';

/**
 * Cached outputs of each row: `done[row][stage name] = value`, rows with no hit get `{}`.
 * `keys[row][stage]`, stages in dependency order.
 */
export function cachedOutputs(db: FlowDb | undefined, stages: readonly { name: string; needs: readonly string[] }[], keys: readonly (readonly string[])[]): Record<string, unknown>[] {
  return keys.map((rowKeys) => {
    const done: Record<string, unknown> = {};
    if (!db) return done;
    stages.forEach((s, i) => {
      if (!s.needs.every((n) => Object.hasOwn(done, n))) return;
      const hit = db.get(rowKeys[i]!);
      if (hit) done[s.name] = decodeValue(hit);
    });
    return done;
  });
}
