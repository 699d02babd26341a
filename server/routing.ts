/**
 * Which pool a job runs on: the one it names, else the first (in declaration order) whose task
 * slots meet its `requires`, else the default. A job that no pool can serve fails at submit,
 * saying what it asked for and what each pool offers.
 */
import { FlotillaError } from '../contract/errors.js';
import type { SlotOffer } from './pool-options.js';

/** What one task of a job needs from its slot. */
export interface Requirements {
  /** Cores. */
  cores?: number;
  /** Memory, MB. */
  memoryMb?: number;
  gpus?: number;
  /** Labels the pool must all have. */
  labels?: string[];
}

/** What routing needs to know of a pool. */
export interface Routable {
  readonly name: string;
  readonly slot: SlotOffer;
  readonly labels: readonly string[];
  readonly failure: string | undefined;
}

/** The first requirement a pool's slots fall short of, or undefined when they meet them all. */
export function shortfall(pool: Routable, want: Requirements): string | undefined {
  const { cores = 1, memoryMb, gpus = 0 } = pool.slot;
  if (want.cores !== undefined && cores < want.cores) return `cores ${want.cores}`;
  if (want.memoryMb !== undefined && !(memoryMb !== undefined && memoryMb >= want.memoryMb)) return `memoryMb ${want.memoryMb}`;
  if (want.gpus !== undefined && gpus < want.gpus) return `gpus ${want.gpus}`;
  const missing = (want.labels ?? []).filter((l) => !pool.labels.includes(l));
  if (missing.length > 0) return `labels ${JSON.stringify(missing)}`;
  return undefined;
}

/** What a pool offers per task slot, as error messages show it. */
export function describeOffer(pool: Routable): string {
  const { cores, memoryMb, gpus } = pool.slot;
  return `${pool.name} offers ${cores ?? 'unknown (1 assumed)'} core(s), ${memoryMb === undefined ? 'unknown memory' : `${memoryMb} MB`}, ${gpus} GPU(s), labels ${JSON.stringify(pool.labels)}`;
}

/** The pool for a job; throws BAD_INPUT naming the pools there are, or what each offers. */
export function choosePool<P extends Routable>(pools: ReadonlyMap<string, P>, want: { pool?: string; requires?: Requirements }, defaultPool: string): P {
  const req = want.requires;
  if (want.pool !== undefined || !req) {
    const name = want.pool ?? defaultPool;
    const pool = pools.get(name);
    if (!pool) throw new FlotillaError('BAD_INPUT', `no pool named ${JSON.stringify(name)}; this controller has: ${[...pools.keys()].join(', ')}`);
    const short = req && shortfall(pool, req);
    if (short) throw new FlotillaError('BAD_INPUT', `pool ${JSON.stringify(name)} cannot meet requires ${JSON.stringify(req)} (${short}): ${describeOffer(pool)} per task slot`);
    return pool;
  }
  const fit = [...pools.values()].filter((p) => shortfall(p, req) === undefined);
  // A pool that gave up launching is a last resort: submit then reports why it gave up.
  const pool = fit.find((p) => !p.failure) ?? fit[0];
  if (pool) return pool;
  const offers = [...pools.values()].map((p) => `${describeOffer(p)} (short of ${shortfall(p, req)})`);
  throw new FlotillaError('BAD_INPUT', `no pool can meet requires ${JSON.stringify(req)}; per task slot, ${offers.join('; ')}`);
}
