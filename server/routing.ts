/**
 * Which pool a job runs on: the one it names, else the default.
 */
import { FlotillaError } from '../agent/protocol/errors.js';
import type { Pool } from './pool.js';

/** The pool for a job; throws BAD_INPUT naming the pools there are. */
export function choosePool(pools: ReadonlyMap<string, Pool>, want: { pool?: string }, defaultPool: string): Pool {
  const name = want.pool ?? defaultPool;
  const pool = pools.get(name);
  if (!pool) throw new FlotillaError('BAD_INPUT', `no pool named ${JSON.stringify(name)}; this controller has: ${[...pools.keys()].join(', ')}`);
  return pool;
}
