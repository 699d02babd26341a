/**
 * Time limits that scale with how busy the machine is. A limit in a test says "something is
 * wrong if this takes longer", never "this must be fast" (speed belongs in test/bench): on a
 * loaded machine the same work takes several times as long, and the limit must allow for it.
 *
 * The factor is FLOTILLA_TEST_SLOWDOWN when set (the CI-under-load mode sets it), else the load
 * average per core when the tests start, between 1 and 4.
 */
import { availableParallelism, loadavg } from 'node:os';

function slowdown(): number {
  const set = Number(process.env.FLOTILLA_TEST_SLOWDOWN);
  if (Number.isFinite(set) && set >= 1) return set;
  const perCore = loadavg()[0]! / availableParallelism();
  return Math.min(4, Math.max(1, perCore));
}

/** How many times slower than a quiet machine this one is taken to be (≥ 1). */
export const SLOWDOWN = slowdown();

/** `ms` scaled by SLOWDOWN: for bounds on waits, test timeouts and hook timeouts. */
export function scaled(ms: number): number {
  return Math.round(ms * SLOWDOWN);
}
