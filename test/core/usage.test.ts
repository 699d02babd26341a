/**
 * What each task used: timings, CPU time and the agent's peak memory on every outcome, and the
 * per-job summary in status(), measured on real local agents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { Session, TaskOutcome } from '../../client/index.js';

let fl: Session;
beforeAll(async () => {
  // One slot per agent: the process's CPU clock is then the task's, so async tasks are measured too.
  fl = await connect({ pools: { local: { launcher: 'local', agents: 2, slots: 1 } }, waitForAgents: 2 });
});
afterAll(() => fl?.close());

const spin = (ms: number) => {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x++;
  return x;
};

describe('timings and use on every outcome', () => {
  it('carries queued, started, finished, duration, CPU time and peak memory, successes and failures alike', async () => {
    const before = Date.now();
    const outcomes: TaskOutcome<number>[] = await fl.map([30, 5, 60, 1], (ms) => {
      spin(ms);
      if (ms === 1) throw new Error('fails');
      return ms;
    }, { globals: { spin }, retries: 0 }).outcomes();
    const after = Date.now();
    for (const o of outcomes) {
      expect(o.queuedAt).toBeGreaterThanOrEqual(before - 1);
      expect(o.startedAt).toBeGreaterThanOrEqual(o.queuedAt! - 1);
      expect(o.finishedAt).toBeGreaterThanOrEqual(o.startedAt!);
      expect(o.finishedAt).toBeLessThanOrEqual(after + 1);
      expect(o.durationMs).toBeGreaterThan(0);
      expect(o.cpuMs).toBeGreaterThan(0);
      expect(o.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    }
    expect(outcomes[2]!.durationMs).toBeGreaterThanOrEqual(60);
    expect(outcomes[3]!.ok).toBe(false);
  });

  it("measures an asynchronous task's CPU time apart from its waiting", async () => {
    const [o] = await fl.map([1], async () => {
      await new Promise((r) => setTimeout(r, 300));
      return spin(40);
    }, { globals: { spin } }).outcomes();
    expect(o!.durationMs).toBeGreaterThanOrEqual(300);
    expect(o!.cpuMs).toBeGreaterThan(5); // its spin, however much of it the loaded machine let run
    expect(o!.cpuMs).toBeLessThan(o!.durationMs! - 150);
  });

  it('sees the memory a task holds while it runs', async () => {
    const [o] = await fl.map([1], async () => {
      const big = Buffer.alloc(200 * 2 ** 20, 1);
      await new Promise((r) => setTimeout(r, 600)); // several of the supervisor's samples
      return big.length;
    }).outcomes();
    expect(o!.peakRssBytes).toBeGreaterThan(200 * 2 ** 20);
  });
});

describe('the job summary in status()', () => {
  it('gives duration and memory percentiles, CPU and the 5 slowest tasks', async () => {
    const ms = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 80, 120];
    const id = await fl.submit(ms, (m: number) => spin(m), { globals: { spin } });
    const outcomes = await fl.attach<number>(id).outcomes();
    const { usage } = await fl.status(id);
    expect(usage).toBeDefined();
    expect(usage!.tasks).toBe(ms.length);
    const d = usage!.durationMs;
    expect(d.p50).toBeGreaterThanOrEqual(5);
    expect(d.p50).toBeLessThanOrEqual(d.p90);
    expect(d.p90).toBeLessThanOrEqual(d.p99);
    expect(d.p99).toBeLessThanOrEqual(d.max);
    expect(d.max).toBeGreaterThanOrEqual(120);
    // The slowest by the outcomes' own durations (on a loaded machine, not always the longest spins).
    const bySpeed = [...outcomes].sort((a, b) => b.durationMs! - a.durationMs!).slice(0, 5);
    expect(usage!.slowest.map((s) => s.index)).toEqual(bySpeed.map((o) => o.index));
    expect(usage!.slowest.map((s) => s.durationMs)).toEqual(bySpeed.map((o) => o.durationMs));
    expect(usage!.slowest[0]!.agentId).toMatch(/./);
    expect(usage!.peakRssBytes!.max).toBeGreaterThan(10 * 2 ** 20);
    expect(usage!.cpuMs!.total).toBeGreaterThanOrEqual(200);
  });
});
