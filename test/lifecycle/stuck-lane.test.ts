/**
 * A task stuck in synchronous code cannot be aborted from inside its thread: the controller
 * reports TIMEOUT on its own clock, the agent's supervisor replaces only that lane's thread,
 * and the agent process (same pid) goes on serving the session.
 */
import { describe, expect, it, vi } from 'vitest';
import { connect } from '../../client/index.js';
import { Reaper, waitGone, within } from './helpers.js';

describe('stuck lane', () => {
  it('a task spinning in synchronous code gets TIMEOUT, its lane thread is replaced in the same agent process, and the next map works', async () => {
    const reaper = new Reaper();
    const logs: string[] = [];
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1 } }, waitForAgents: 1, controller: { log: (l) => logs.push(l) } });
    reaper.add(() => fl.close());
    const controller = fl.controller!;
    const pool = controller.pools.get('local')!;
    const [handle] = [...pool.handles.values()];
    const pid = handle!.pid!;
    reaper.pid(pid);
    const launch = vi.spyOn(pool.launcher, 'launch');

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
    expect(tookMs).toBeLessThan(3_000);

    const values = await within(Promise.resolve(fl.map([1, 2, 3], (x: number) => x + 1)), 10_000, 'map after the stuck task');
    expect(values).toEqual([2, 3, 4]);

    expect(logs.some((l) => l.includes('lane 0: task still running past its timeout; replacing it'))).toBe(true);
    // Only the thread was replaced: same process, still the pool's only agent, nothing launched.
    expect(handle!.pid).toBe(pid);
    expect([...pool.handles.values()].map((h) => h.pid)).toEqual([pid]);
    const lanePids = [...controller.scheduler.lanes].map((l) => l.hello.pid);
    expect(lanePids.length).toBeGreaterThanOrEqual(1);
    expect(lanePids.every((p) => p === pid)).toBe(true);
    expect(launch).not.toHaveBeenCalled();

    await fl.close();
    await waitGone([pid], 5_000, 'agent after close');
  });
});
