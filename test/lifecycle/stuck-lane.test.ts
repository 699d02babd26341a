/**
 * A task stuck in synchronous code cannot be aborted from inside its thread: the controller
 * reports TIMEOUT on its own clock, the agent's supervisor replaces only that lane's thread,
 * and the agent process (same pid) goes on serving the session.
 */
import { describe, expect, it } from 'vitest';
import { Reaper, oneAgentSession, waitGone, within } from './helpers.js';
import { scaled } from '../support/timing.js';

describe('stuck lane', () => {
  it('a task spinning in synchronous code gets TIMEOUT, its lane thread is replaced in the same agent process, and the next map works', async () => {
    const reaper = new Reaper();
    const { fl, controller, pool, pid, launch, logs } = await oneAgentSession(reaper);

    const t0 = Date.now();
    const outcomes = await within(
      fl
        .map(
          [0],
          () => {
            while (true) {
              // spin: never yields, so only the supervisor can end it
            }
          },
          { timeoutMs: 300 },
        )
        .outcomes(),
      5_000,
      'stuck task',
    );
    const tookMs = Date.now() - t0;
    expect(outcomes).toHaveLength(1);
    const [o] = outcomes;
    expect(o?.ok).toBe(false);
    if (o && !o.ok) {
      expect(o.error.code).toBe('TIMEOUT');
      expect(o.error.context.timedOut).toBe(true);
      expect(o.error.context.pid).toBe(pid);
    }
    expect(tookMs).toBeGreaterThanOrEqual(300);
    expect(tookMs).toBeLessThan(scaled(3_000));

    const values = await within(Promise.resolve(fl.map([1, 2, 3], (x: number) => x + 1)), 10_000, 'map after the stuck task');
    expect(values).toEqual([2, 3, 4]);

    expect(logs.some((l) => l.includes('lane 0: task still running past its timeout; replacing it'))).toBe(true);
    // Only the thread was replaced: same process, still the pool's only agent, nothing launched.
    expect([...pool.handles.values()].map((h) => h.pid)).toEqual([pid]);
    const lanePids = [...controller.scheduler.lanes].map((l) => l.hello.pid);
    expect(lanePids.length).toBeGreaterThanOrEqual(1);
    expect(lanePids.every((p) => p === pid)).toBe(true);
    expect(launch).not.toHaveBeenCalled();

    await fl.close();
    await waitGone([pid], 5_000, 'agent after close');
  });
});
