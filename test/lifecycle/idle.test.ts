/**
 * An idle agent leaves cleanly (exit code 0) after idleTimeoutMs, the pool does not start it
 * again while there is nothing to do, and the next map brings up a fresh agent.
 */
import { describe, expect, it, vi } from 'vitest';
import { connect } from '../../client/index.js';
import type { LogLine } from '../../server/log-ring.js';
import { Reaper, isGone, waitGone, within } from './helpers.js';
import { scaled } from '../support/timing.js';

/** When the agent wrote a line (its own clock, kept by the controller's log ring). */
function agentLogTime(logs: readonly LogLine[], text: string): number {
  const line = logs.find((l) => l.line.includes(text));
  if (!line) throw new Error(`no agent log line with ${JSON.stringify(text)} in:\n${logs.map((l) => l.line).join('\n')}`);
  return line.at;
}

describe('idle timeout', () => {
  it('an idle agent exits 0 and is not relaunched until work arrives; the next map starts a new one', async () => {
    const reaper = new Reaper();
    const idleTimeoutMs = 800;
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1, idleTimeoutMs } }, waitForAgents: 1 });
    reaper.add(() => fl.close());
    const controller = fl.controller!;
    const pool = controller.pools.get('local')!;
    const [first] = [...pool.handles.values()];
    expect(first?.pid).toBeTypeOf('number');
    reaper.pid(first!.pid);
    const launch = vi.spyOn(pool.launcher, 'launch');

    const exit = await within(first!.exited, idleTimeoutMs + 5_000, 'idle agent exiting');
    expect(exit).toMatchObject({ exitCode: 0, signal: null });
    // The agent's idle clock starts as its supervisor starts the lanes, which it logs; measured
    // on the agent's own clock, it stayed up the whole idle period and no longer.
    const startedAt = agentLogTime(controller.logs.read(first!.agentId), `agent ${first!.agentId} pid ${first!.pid}:`);
    const exitingAt = agentLogTime(controller.logs.read(first!.agentId), `agent ${first!.agentId} exiting: idle for ${idleTimeoutMs} ms`);
    expect(exitingAt - startedAt).toBeGreaterThanOrEqual(idleTimeoutMs);
    expect(exitingAt - startedAt).toBeLessThan(idleTimeoutMs + scaled(1_000));
    await waitGone([first!.pid!], 1_000, 'idle agent');

    // A relaunch would start synchronously from the pool's exit handler, which ran before ours.
    await new Promise((r) => setImmediate(r));
    expect(launch).not.toHaveBeenCalled();
    expect(pool.status().running).toBe(0);
    expect(pool.failure).toBeUndefined();

    const values = await within(Promise.resolve(fl.map([1, 2, 3], (x: number) => x * 10)), 15_000, 'map after the idle exit');
    expect(values).toEqual([10, 20, 30]);
    expect(launch).toHaveBeenCalledTimes(1);
    const [second] = [...pool.handles.values()];
    reaper.pid(second?.pid);
    const lanes = (await fl.agents()).lanes;
    expect(lanes.length).toBeGreaterThanOrEqual(1);
    expect(lanes.every((l) => l.pid === second?.pid && l.pid !== first!.pid)).toBe(true);

    await fl.close();
    expect(isGone(first!.pid!)).toBe(true);
    if (second?.pid !== undefined) await waitGone([second.pid], 5_000, 'second agent after close');
  });
});
