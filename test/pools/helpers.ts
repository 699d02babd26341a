/**
 * Shared pieces of the pool tests: a sampler of a pool's status over time (and of every agent
 * pid it ever had, to check none is left behind), and waits that poll a pool's own state.
 */
import type { Pool, PoolStatus } from '../../server/pool.js';
import { isGone, waitGone } from '../lifecycle/helpers.js';
import { scaled } from '../support/timing.js';

export { isGone, waitGone };

export interface Sample extends PoolStatus {
  at: number;
}

/** Samples `pool.status()` every `everyMs` until stopped; keeps every agent pid it saw. */
export function sampler(pool: Pool, everyMs = 25) {
  const samples: Sample[] = [];
  const pids = new Set<number>();
  const take = () => {
    samples.push({ at: Date.now(), ...pool.status() });
    for (const h of pool.handles.values()) if (h.pid !== undefined) pids.add(h.pid);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    pids,
    stop: () => {
      clearInterval(timer);
      take();
    },
    /** Resolves once `cond` holds for the pool's status (checked at each sample), or fails after `ms`. */
    async until(cond: (s: PoolStatus) => boolean, bound: number, what: string): Promise<number> {
      const ms = scaled(bound);
      const t0 = Date.now();
      for (;;) {
        const s = pool.status();
        if (cond(s)) return Date.now();
        if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms; pool: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
