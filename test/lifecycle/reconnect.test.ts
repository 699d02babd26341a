/**
 * A lane whose connection drops mid-job dials back in (same agent process) and the job finishes
 * with every task's result exactly once: the runs lost with the connection are re-run, and
 * nothing is recorded twice.
 */
import { describe, expect, it } from 'vitest';
import type { TaskOutcome } from '../../client/index.js';
import type { Lane } from '../../server/lane.js';
import { Reaper, oneAgentSession, waitGone, within } from './helpers.js';

describe('reconnect', () => {
  it('a lane cut off by the controller mid-job reconnects and the job yields each result exactly once', async () => {
    const reaper = new Reaper();
    const { fl, controller, pid, launch, logs } = await oneAgentSession(reaper);
    const [before] = [...controller.scheduler.lanes] as [Lane];

    const items = Array.from({ length: 12 }, (_, i) => i);
    const job = fl.map(items, async (x: number, ctx) => {
      await new Promise((r) => setTimeout(r, 60));
      return { square: x * x, attempt: ctx.attempt };
    });
    const seen: TaskOutcome<{ square: number; attempt: number }>[] = [];
    let cut = false;
    const collect = async () => {
      for await (const o of job) {
        seen.push(o);
        if (!cut) {
          cut = true;
          // Tasks still held by the lane are in flight: cutting now loses them mid-run.
          expect(before.runs.size).toBeGreaterThan(0);
          before.channel.ws.terminate();
        }
      }
    };
    await within(collect(), 15_000, 'job across a dropped connection');

    expect(cut).toBe(true);
    expect(seen).toHaveLength(items.length);
    const counts = new Map<number, number>();
    for (const o of seen) counts.set(o.index, (counts.get(o.index) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(items);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    for (const o of seen) {
      expect(o.ok).toBe(true);
      if (o.ok) expect(o.value.square).toBe(o.index * o.index);
    }
    // At least one task was lost with the connection and run again.
    expect(seen.some((o) => o.ok && o.value.attempt > 1)).toBe(true);

    // The same agent process dialled back in on a new connection; no agent was launched.
    const lanes = [...controller.scheduler.lanes];
    expect(lanes).toHaveLength(1);
    expect(lanes[0]).not.toBe(before);
    expect(lanes[0]!.hello.pid).toBe(pid);
    expect(launch).not.toHaveBeenCalled();
    expect(logs.some((l) => l.includes('lane 0 disconnected'))).toBe(true);

    await fl.close();
    await waitGone([pid], 5_000, 'agent after close');
  });
});
