/**
 * SIGTERM is how schedulers and admins ask an agent to leave: it exits 0 at once, and the tasks
 * it held are not lost: they run again elsewhere and the job completes.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { Reaper, waitGone, within } from './helpers.js';
import { scaled } from '../support/timing.js';

type Out = { x: number; pid: number; attempt: number };

async function slowTask(x: number, ctx: { attempt: number }): Promise<Out> {
  await new Promise((r) => setTimeout(r, 400));
  return { x: x * 3, pid: process.pid, attempt: ctx.attempt };
}

async function session(reaper: Reaper, agents: number) {
  const logs: string[] = [];
  const fl = await connect({ pools: { local: { launcher: 'local', agents, slots: 1 } }, waitForAgents: agents, controller: { log: (l) => logs.push(l) } });
  reaper.add(() => fl.close());
  const controller = fl.controller!;
  const pool = controller.pools.get('local')!;
  const handles = [...pool.handles.values()];
  for (const h of handles) reaper.pid(h.pid);
  return { fl, controller, pool, handles, logs };
}

describe('SIGTERM to an agent', () => {
  it('exits 0 promptly and its in-flight task is re-run on another agent; the job completes', async () => {
    const reaper = new Reaper();
    const { fl, controller, pool, handles } = await session(reaper, 2);
    const items = [0, 1, 2, 3];
    const job = fl.map(items, slowTask);
    await job.id;
    const lanes = [...controller.scheduler.lanes];
    expect(lanes).toHaveLength(2);
    // Dispatch filled both lanes as the job was submitted: each agent is running a task now.
    expect(lanes.every((l) => l.runs.size > 0)).toBe(true);
    const victim = handles.find((h) => h.pid === lanes[0]!.hello.pid)!;

    const t0 = Date.now();
    process.kill(victim.pid!, 'SIGTERM');
    const exit = await within(victim.exited, 3_000, 'agent after SIGTERM');
    const exitMs = Date.now() - t0;
    expect(exit).toMatchObject({ exitCode: 0, signal: null });
    expect(exitMs).toBeLessThan(1_000 + scaled(1_000)); // the supervisor forces its exit after 1 s
    await waitGone([victim.pid!], 1_000, 'SIGTERMed agent');

    const values = await within(Promise.resolve(job), 10_000, 'job after losing an agent');
    expect(values.map((v) => v.x)).toEqual(items.map((x) => x * 3));
    // The victim finished none of its tasks; they ran again, on another agent.
    expect(values.every((v) => v.pid !== victim.pid)).toBe(true);
    expect(values.some((v) => v.attempt > 1)).toBe(true);
    for (const h of pool.handles.values()) reaper.pid(h.pid);

    await fl.close();
    await waitGone(handles.map((h) => h.pid!), 5_000, 'agents after close');
  });

  it('the only agent of a pool leaving on SIGTERM mid-job is replaced, so the job still completes', async () => {
    const reaper = new Reaper();
    const { fl, controller, pool, handles } = await session(reaper, 1);
    const [only] = handles;
    const job = fl.map([0, 1, 2], slowTask);
    await job.id;
    const [lane] = [...controller.scheduler.lanes];
    expect(lane?.runs.size).toBeGreaterThan(0);

    process.kill(only!.pid!, 'SIGTERM');
    const exit = await within(only!.exited, 3_000, 'agent after SIGTERM');
    expect(exit).toMatchObject({ exitCode: 0, signal: null });

    // A clean exit is how an idle agent leaves too; but this pool still has queued work.
    const values = await within(Promise.resolve(job), 8_000, () => `job whose only agent left (pool now runs ${pool.status().running} agent(s))`);
    expect(values.map((v) => v.x)).toEqual([0, 3, 6]);
    expect(values.every((v) => v.pid !== only!.pid)).toBe(true);
    for (const h of pool.handles.values()) reaper.pid(h.pid);

    await fl.close();
  });
});
