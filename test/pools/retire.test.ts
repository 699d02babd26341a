/**
 * Agents retired by the pool itself, mid-job: after maxTasks tasks, and before their walltime at
 * staggered times. Each is replaced while work remains, its exit is not a failure, and the job
 * loses no task and runs none twice.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { sampler, waitGone } from './helpers.js';
import { scaled } from '../support/timing.js';

/** When each agent was retired, from the controller's log. */
function retirements(logs: readonly { at: number; line: string }[], why: RegExp): { at: number; agent: string }[] {
  return logs.filter((l) => why.test(l.line)).map((l) => ({ at: l.at, agent: /retiring agent (\S+):/.exec(l.line)![1]! }));
}

describe('retiring agents mid-job', () => {
  it('replaces an agent after maxTasks tasks; the job completes with every task once', async () => {
    const logs: { at: number; line: string }[] = [];
    const maxTasks = 40;
    const fl = await connect({
      pools: { mt: { launcher: 'local', agents: 2, slots: 1, maxTasks } },
      waitForAgents: 2,
      controller: { log: (line) => logs.push({ at: Date.now(), line }) },
    });
    const pool = fl.controller!.pools.get('mt')!;
    const s = sampler(pool);
    try {
      const n = 300;
      const seen = new Map<number, number>();
      const job = fl.map(Array.from({ length: n }, (_, i) => i), async (x: number) => {
        await new Promise((r) => setTimeout(r, 5));
        return { x, pid: process.pid };
      });
      for await (const r of job) seen.set(r.index, (seen.get(r.index) ?? 0) + 1);
      const out = await job;
      expect(out.map((o) => o.x)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(seen.size).toBe(n);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      const perAgent = new Map<number, number>();
      for (const o of out) perAgent.set(o.pid, (perAgent.get(o.pid) ?? 0) + 1);
      // The scheduler gives an agent no more than maxTasks tasks.
      expect(perAgent.size).toBeGreaterThanOrEqual(Math.ceil(n / maxTasks));
      for (const count of perAgent.values()) expect(count).toBeLessThanOrEqual(maxTasks);
      expect(retirements(logs, /retiring agent .*: it ran 40 tasks/).length).toBeGreaterThanOrEqual(perAgent.size - 2);
      expect(pool.failure).toBeUndefined();
      expect(logs.filter((l) => /^pool mt: .*(ended:|failed)/.test(l.line))).toEqual([]); // retired exits are not failures
      expect(Math.max(...s.samples.map((x) => x.running + x.starting))).toBeLessThanOrEqual(2);
    } finally {
      s.stop();
      await fl.close();
    }
    await waitGone([...s.pids], 5_000, 'agents after close');
  });

  it('retires agents before their walltime, spread out, and replaces them; the job completes', async () => {
    const logs: { at: number; line: string }[] = [];
    const walltime = 5000;
    const fl = await connect({
      pools: { wt: { launcher: 'local', agents: 3, slots: 1, walltime } },
      waitForAgents: 3,
      controller: { log: (line) => logs.push({ at: Date.now(), line }) },
    });
    const pool = fl.controller!.pools.get('wt')!;
    const s = sampler(pool);
    try {
      const started = Date.now();
      const n = 180;
      const out = await fl.map(Array.from({ length: n }, (_, i) => i), async (x: number) => {
        await new Promise((r) => setTimeout(r, 100));
        return { x, pid: process.pid };
      }, { retries: 0 });
      expect(out.map((o) => o.x)).toEqual(Array.from({ length: n }, (_, i) => i));
      const retired = retirements(logs, /retiring agent .*: its walltime/);
      expect(retired.length).toBeGreaterThanOrEqual(3);
      // The first three (started together) leave at different times, none past its walltime.
      const first = retired.slice(0, 3).map((r) => r.at).sort((a, b) => a - b);
      // Their staggers are 0, 0.24 and 0.62 of 15% of the walltime, counted from when each
      // connected: at least ~160 ms between the first and the last, whatever their start order.
      expect(first[2]! - first[0]!).toBeGreaterThanOrEqual(100);
      // None past its walltime; a loaded machine runs the pool's 100 ms tick late.
      expect(first[2]! - started).toBeLessThan(walltime + scaled(250) - 250);
      expect(new Set(out.map((o) => o.pid)).size).toBeGreaterThan(3); // replacements ran tasks
      expect(pool.failure).toBeUndefined();
      expect(logs.filter((l) => /^pool wt: .*(ended:|failed)/.test(l.line))).toEqual([]);
      // Replacements start while the old agents drain: never more than 3 taking work.
      expect(Math.max(...s.samples.map((x) => x.running))).toBeLessThanOrEqual(3);
    } finally {
      s.stop();
      await fl.close();
    }
    await waitGone([...s.pids], 5_000, 'agents after close');
  });
});
