/**
 * Pieces shared by the fault tests: every agent pid a pool ever had, and per-index counts of a
 * job's outcomes, both as the client saw them and as the controller recorded them.
 */
import { vi } from 'vitest';
import type { Session, TaskOutcome } from '../../client/index.js';
import type { Pool } from '../../server/pool.js';
import type { AgentHandle } from '../../server/launchers/launcher.js';
import type { Reaper } from '../lifecycle/helpers.js';

/**
 * Collects the pid of every agent `pool` runs from now on (and the ones it runs already), each
 * also handed to `reaper`, so a relaunched agent cannot escape the checks after close.
 */
export function trackAgents(pool: Pool, reaper: Reaper): { pids(): Promise<number[]> } {
  const pids = new Set<number>();
  const add = (pid: number | undefined) => {
    if (pid === undefined) return;
    pids.add(pid);
    reaper.pid(pid);
  };
  for (const h of pool.handles.values()) add(h.pid);
  const launch = vi.spyOn(pool.launcher, 'launch');
  return {
    async pids() {
      for (const h of pool.handles.values()) add(h.pid);
      const launched = await Promise.allSettled(launch.mock.results.map((r) => r.value as Promise<AgentHandle>));
      for (const r of launched) if (r.status === 'fulfilled') add(r.value.pid);
      return [...pids];
    },
  };
}

/** Indices that did not arrive exactly once, as `index×count`; empty when all did. */
export function notExactlyOnce(counts: ArrayLike<number>): string[] {
  const bad: string[] = [];
  for (let i = 0; i < counts.length; i++) if (counts[i] !== 1) bad.push(`${i}×${counts[i]}`);
  return bad;
}

/** How often the controller recorded each index of a job of an embedded session (its completion log). */
export function recordedCounts(fl: Session, jobId: string): Uint32Array {
  const job = fl.controller!.job(jobId);
  const counts = new Uint32Array(job.total);
  for (const r of job.readLog(0, job.logLength)) counts[r.index]!++;
  return counts;
}

/** Counts outcomes per index as a job's iterator yields them, calling `check` on each. */
export async function countOutcomes<R>(job: AsyncIterable<TaskOutcome<R>>, total: number, check: (o: TaskOutcome<R>) => void): Promise<Uint32Array> {
  const counts = new Uint32Array(total);
  for await (const o of job) {
    counts[o.index]!++;
    check(o);
  }
  return counts;
}

/**
 * Yields what `source` yields, failing once `stallMs` pass without a new item: a bound on a
 * stall, not on speed, so a long job on a slow machine passes while a stuck one fails quickly.
 * `what` describes the state at the moment it fails.
 */
export async function* progressing<T>(source: AsyncIterable<T>, stallMs: number, what: () => string): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let n = 0;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what()}: no result for ${stallMs} ms after ${n} result(s)`)), stallMs);
      });
      let r: IteratorResult<T>;
      try {
        r = await Promise.race([it.next(), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (r.done) return;
      n++;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}
