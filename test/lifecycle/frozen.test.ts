/**
 * Liveness of busy agents: a lane running synchronous code cannot answer pings, so an agent's
 * liveness is its supervisor's control connection. A frozen agent (SIGSTOP) loses its tasks to
 * the others; a task stuck in synchronous code can still be cancelled (its lane is replaced).
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { Reaper, within } from './helpers.js';
import { rejection, until } from '../support/async.js';

describe('busy, stuck and frozen agents', () => {
  it('a frozen agent (SIGSTOP) holding a task loses it to another agent, and the job completes', async () => {
    const reaper = new Reaper();
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2, controller: { heartbeatMs: 200 } });
    reaper.add(() => fl.close());
    const pids = (await fl.agents()).lanes.map((l) => l.pid);
    pids.forEach((p) => reaper.pid(p));
    const job = fl.map([0, 1], async (x) => {
      await new Promise((r) => setTimeout(r, 400));
      return { x, pid: process.pid };
    });
    const id = await job.id;
    await until(async () => (await fl.status(id)).running === 2);
    const frozen = pids[0]!;
    process.kill(frozen, 'SIGSTOP');
    reaper.add(() => process.kill(frozen, 'SIGCONT'));
    const out = await within(Promise.resolve(job), 10_000, 'job with a frozen agent');
    expect(out.map((o) => o.x)).toEqual([0, 1]);
    expect(out.every((o) => o.pid !== frozen)).toBe(true);
    process.kill(frozen, 'SIGCONT');
  });

  it('cancelling a task stuck in synchronous code without a timeout replaces its lane, not its agent', async () => {
    const reaper = new Reaper();
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } }, waitForAgents: 1 });
    reaper.add(() => fl.close());
    const [pid] = (await fl.agents()).lanes.map((l) => l.pid);
    reaper.pid(pid!);
    const job = fl.map([1], () => {
      for (;;);
    });
    const id = await job.id;
    await until(async () => (await fl.status(id)).running === 1);
    await job.cancel();
    expect((await rejection(job)).code).toBe('CANCELLED');
    expect(await within(Promise.resolve(fl.map([2], (x) => ({ x, pid: process.pid }))), 10_000, 'map after the stuck task')).toEqual([{ x: 2, pid }]);
  });
});
