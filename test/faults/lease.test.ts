/**
 * Liveness is a lease. An agent that stops answering (SIGSTOP: alive, connected, silent) loses
 * its tasks to the other agents after two to three missed heartbeats. When it is resumed its
 * stale task runs on to its end, but that late result is dropped: each index is recorded
 * exactly once, with the value of the re-run. The resumed agent rejoins and takes work again.
 * (test/lifecycle/frozen.test.ts checks that a frozen agent's job completes; this one checks
 * when its lease ends, and what happens once it wakes up.)
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { isGone, Reaper, tempDir, waitGone, within } from '../lifecycle/helpers.js';
import { until } from '../support/async.js';
import { countOutcomes, notExactlyOnce, recordedCounts } from './helpers.js';
import { scaled } from '../support/timing.js';

/** Controller ping interval: an agent whose control connection misses two pings in a row is lost. */
const HB = 250;
const TASK_MS = 150;
const TASKS = 40;

/** Shipped to the agents in `globals`. */
declare const dir: string, taskMs: number;

type Out = { y: number; pid: number; attempt: number };

/** Marker files: `start-INDEX-ATTEMPT-PID` when a run starts, `end-...` when it reaches its end. */
function markers(folder: string, kind: 'start' | 'end') {
  return readdirSync(folder)
    .filter((f) => f.startsWith(`${kind}-`))
    .map((f) => {
      const [, index, attempt, pid] = f.split('-').map(Number);
      return { index: index!, attempt: attempt!, pid: pid! };
    });
}

describe('lease', () => {
  it('a frozen agent loses its task to another within about two heartbeats; resumed, its late result is dropped', async () => {
    const reaper = new Reaper();
    const folder = tempDir(reaper);
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 3 } }, waitForAgents: 3, controller: { heartbeatMs: HB } });
    reaper.add(() => fl.close());
    const pids = [...new Set((await fl.agents()).lanes.map((l) => l.pid))];
    pids.forEach((p) => reaper.pid(p));
    const frozen = pids[0]!;

    const items = Array.from({ length: TASKS }, (_, i) => i);
    const job = fl.map(
      items,
      async (x: number, ctx): Promise<Out> => {
        const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
        const tag = `${x}-${ctx.attempt}-${process.pid}`;
        fs.writeFileSync(`${dir}/start-${tag}`, '');
        await new Promise((r) => setTimeout(r, taskMs));
        fs.writeFileSync(`${dir}/end-${tag}`, '');
        return { y: x * 2 + 1, pid: process.pid, attempt: ctx.attempt };
      },
      { globals: { dir: folder, taskMs: TASK_MS }, retries: 3 },
    );
    const jobId = await job.id;
    const counting = countOutcomes(job, TASKS, () => {});
    counting.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile

    // Freeze the agent in the middle of a task, so that task has a late result to give.
    const midTask = () => {
      const ended = new Set(markers(folder, 'end').map((m) => `${m.index}-${m.attempt}-${m.pid}`));
      return markers(folder, 'start').filter((m) => m.pid === frozen && !ended.has(`${m.index}-${m.attempt}-${m.pid}`));
    };
    let stale: { index: number; attempt: number; pid: number } | undefined;
    let frozenAt = 0;
    for (let tries = 0; !stale; tries++) {
      expect(tries, 'freezing the agent mid-task').toBeLessThan(5);
      await until(() => midTask().length > 0, 10_000);
      process.kill(frozen, 'SIGSTOP');
      frozenAt = Date.now();
      stale = midTask()[0]; // it may have finished just before the signal: then try again
      if (!stale) process.kill(frozen, 'SIGCONT');
    }
    reaper.add(() => {
      if (!isGone(frozen)) process.kill(frozen, 'SIGCONT');
    });

    // The lease ends: the controller drops the frozen agent's lanes, and the task runs elsewhere.
    await until(async () => !(await fl.agents()).lanes.some((l) => l.pid === frozen), 5_000);
    const lostAfterMs = Date.now() - frozenAt;
    await until(() => markers(folder, 'start').some((m) => m.index === stale!.index && m.attempt === 2), 5_000);
    const rerunAfterMs = Date.now() - frozenAt;
    // Two missed pings end it: between 2 and 3 intervals after the freeze (rarely just over 1,
    // if it froze before answering a ping), plus scheduling delay on a busy machine.
    expect(lostAfterMs).toBeGreaterThanOrEqual(HB);
    expect(lostAfterMs).toBeLessThan(3 * HB + scaled(750));
    expect(rerunAfterMs).toBeLessThan(3 * HB + scaled(750 + TASK_MS + 500));

    // Resumed, the agent finishes the stale run (its result has nowhere to go) and rejoins.
    process.kill(frozen, 'SIGCONT');
    await until(() => existsSync(join(folder, `end-${stale!.index}-${stale!.attempt}-${frozen}`)), 5_000);
    await until(async () => (await fl.agents()).lanes.some((l) => l.pid === frozen), 10_000);

    let wrong = 0;
    const counts = await within(counting, 20_000, 'job after the lease ended');
    const outcomes = await job.outcomes();
    for (const o of outcomes) if (!(o.ok && o.value.y === o.index * 2 + 1)) wrong++;
    expect(wrong).toBe(0);
    expect(notExactlyOnce(counts)).toEqual([]);
    expect(notExactlyOnce(recordedCounts(fl, jobId))).toEqual([]);
    // The recorded value of the stale task is the re-run's, from another agent.
    const kept = outcomes[stale.index]!;
    expect(kept.ok).toBe(true);
    if (kept.ok) {
      expect(kept.value.pid).not.toBe(frozen);
      expect(kept.value.attempt).toBe(2);
    }
    // Only the frozen agent's task was re-run; the job did not hand out anything twice otherwise.
    expect(outcomes.filter((o) => o.ok && o.value.attempt > 1).map((o) => o.index)).toEqual([stale.index]);

    // The woken agent is a working member of the pool again.
    const after = await within(Promise.resolve(fl.map([0, 1, 2, 3, 4, 5], async (x: number) => {
      await new Promise((r) => setTimeout(r, 100));
      return process.pid;
    })), 10_000, 'map after the agent woke up');
    expect(after).toContain(frozen);

    await fl.close();
    await waitGone(pids, 5_000, 'agents after close');
  });
});
