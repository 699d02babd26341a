/**
 * How big a pool should be, as pure functions of what it sees, so the policy reads (and is
 * tested) apart from the processes: grow from the backlog, shrink by idle time, and spread the
 * planned ends of agents' lives.
 */

/** What the pool sees when it decides whether to launch. */
export interface ScaleView {
  /** Tasks of the pool's jobs waiting for a slot. */
  backlog: number;
  /** Connected slots holding no run and taking work. */
  freeSlots: number;
  /** Agents launched and not connected yet (launch in flight, process starting, job pending). */
  starting: number;
  /** Agents not retiring: starting or connected. */
  active: number;
  slotsPerAgent: number;
  /** Floor: `min`, or 0 while the pool is not in use. */
  min: number;
  max: number;
  maxLaunching: number;
}

/**
 * Agents to launch now: enough that every waiting task has a slot, counting free slots and those
 * of agents on their way, kept within [min, max] and the cap on launches in flight.
 */
export function agentsToLaunch(v: ScaleView): number {
  const need = v.backlog - v.freeSlots - v.starting * v.slotsPerAgent;
  const wanted = v.active + (need > 0 ? Math.ceil(need / v.slotsPerAgent) : 0);
  const target = Math.min(Math.max(wanted, v.min), v.max);
  return Math.max(0, Math.min(target - v.active, v.maxLaunching - v.starting));
}

/** An agent as the idle rule sees it. */
export interface IdleView {
  id: string;
  /** Since when every one of its slots has held nothing (launch time if none connected); undefined while busy. */
  idleSince: number | undefined;
}

/**
 * Agents to retire for idleness: each idle at least `idleMs`, longest idle first, while more than
 * `min` agents would remain.
 */
export function idleToRetire(agents: readonly IdleView[], active: number, min: number, idleMs: number, now: number): string[] {
  const out: string[] = [];
  const idle = agents.filter((a) => a.idleSince !== undefined && now - a.idleSince >= idleMs).sort((a, b) => a.idleSince! - b.idleSince!);
  for (const a of idle) {
    if (active - out.length <= min) break;
    out.push(a.id);
  }
  return out;
}

/** 1/φ: successive multiples mod 1 spread evenly over [0, 1) however many there are. */
const GOLDEN = 0.618_033_988_749_895;

/**
 * When the `k`-th agent of a pool (counting from 0) should stop taking work, given when it
 * started and how long it may live: early enough to drain and hand over (a margin of 5%, at most
 * 5 min), minus a stagger spread over 15% (at most 30 min) so agents started together leave apart
 * and their replacements do not all start at once.
 */
export function retireAt(startedAt: number, walltimeMs: number, k: number): number {
  const margin = Math.min(walltimeMs * 0.05, 5 * 60_000);
  const spread = Math.min(walltimeMs * 0.15, 30 * 60_000);
  return startedAt + walltimeMs - margin - ((k * GOLDEN) % 1) * spread;
}
