/**
 * What the flow cache already holds for a flow's rows. A stage is taken from the cache only
 * where every stage it needs is too, so an agent never holds an output whose inputs it would
 * compute anew (and a changed upstream stage re-runs everything after it).
 */
import { decodeValue } from '../../contract/codec.js';
import type { Encoded } from '../../contract/codec.js';
import { FlotillaError } from '../../contract/errors.js';
import type { FlowDb } from './db.js';
import { NO_CACHE } from './keys.js';

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
      const hit = rowKeys[i] === NO_CACHE ? undefined : db.get(rowKeys[i]!);
      if (hit) done[s.name] = decodeValue(hit);
    });
    return done;
  });
}

/**
 * Stage outputs on their way to the cache: written in one transaction per turn of the event
 * loop, not one per reported row (a transaction each made tiny rows cost more than running them).
 * `flush()` writes what is queued now (a flow settling, the controller closing).
 */
export class CacheWriter {
  private queued: [string, Encoded][] = [];

  constructor(private readonly db: () => FlowDb | undefined, private readonly log: (line: string) => void) {}

  push(entries: readonly [string, Encoded][]): void {
    if (entries.length === 0) return;
    const first = this.queued.length === 0;
    for (const e of entries) this.queued.push(e);
    if (first) setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    try {
      this.db()?.putMany(batch);
    } catch (err) {
      this.log(`flow cache: ${FlotillaError.from(err).message}`);
    }
  }
}
