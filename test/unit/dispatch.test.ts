/**
 * Dispatch on the fake clock (no processes): how tasks go to lanes. Fair sharing between jobs,
 * the prefetch window a lane fills, and the bounds that keep a lane and a job's submitter from
 * being flooded.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ToAgent } from '../../contract/messages.js';
import type { Script } from './support/fake-lane.js';
import { connectLane, makeJob, makeScheduler, results, runUntil, submit } from './support/plane.js';
import { encodeValue } from '../../contract/codec.js';
import { decodeValue } from '../../contract/codec.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

/** Tasks per `run` frame a fake lane received. */
const frames = (sent: ToAgent[]) => sent.flatMap((m) => (m.t === 'run' ? [m.tasks.length] : []));

describe('fair sharing', () => {
  it('gives a small job of unknown duration that arrives later its slot while a big job of short tasks keeps every lane busy', async () => {
    const { scheduler } = makeScheduler();
    // Short tasks fill each lane's window (a 5 ms link: windows of 10 ms); the small job's tasks take 50 ms, and nobody knows it yet.
    const script: Script = (t) => (t.arg === 'small' ? { ok: 'small', ms: 50 } : { ok: t.arg, ms: 1 });
    connectLane(scheduler, script, { latencyMs: 5 });
    connectLane(scheduler, script, { latencyMs: 5 });
    const big = submit(scheduler, Array.from({ length: 3000 }, (_, i) => i), { fn: 'short' });
    await runUntil(() => big.done >= 200);
    const small = submit(scheduler, ['small', 'small'], { fn: 'unknown' });
    await runUntil(() => small.finished);
    // The small job waited for a lane to drain its window (a few dozen short tasks), not for the big job.
    expect(big.done).toBeLessThan(400);
    expect(results(small).map((r) => r.ok && decodeValue(r.value))).toEqual(['small', 'small']);
    await runUntil(() => big.finished);
    expect(big.status()).toMatchObject({ done: 3000, failed: 0 });
  });

  it('takes jobs round-robin: two jobs of one pool share a lane task by task', async () => {
    const { scheduler } = makeScheduler();
    const { channel } = connectLane(scheduler, (t) => ({ ok: t.arg, ms: 10 }));
    const a = submit(scheduler, ['a', 'a', 'a'], { fn: 'same' });
    const b = submit(scheduler, ['b', 'b', 'b'], { fn: 'same' });
    await runUntil(() => a.finished && b.finished);
    expect(channel.started.map((t) => t.arg)).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('gives a pool its own jobs only', async () => {
    const { scheduler } = makeScheduler();
    const { channel: p } = connectLane(scheduler, (t) => ({ ok: t.arg }), { pool: 'p' });
    const { channel: q } = connectLane(scheduler, (t) => ({ ok: t.arg }), { pool: 'q' });
    const jp = submit(scheduler, ['p1', 'p2'], { pool: 'p' });
    const jq = submit(scheduler, ['q1'], { pool: 'q' });
    await runUntil(() => jp.finished && jq.finished);
    expect(p.started.map((t) => t.arg)).toEqual(['p1', 'p2']);
    expect(q.started.map((t) => t.arg)).toEqual(['q1']);
  });
});

describe('prefetch windows', () => {
  /** Runs `n` tasks of `ms` each on one lane with a link of `latencyMs`; returns the most runs it held and its frames. */
  async function run(n: number, ms: number, latencyMs: number) {
    const { scheduler } = makeScheduler();
    const { lane, channel } = connectLane(scheduler, (t) => ({ ok: t.arg, ms }), { latencyMs });
    const job = submit(scheduler, Array.from({ length: n }, (_, i) => i));
    let most = 0;
    await runUntil(() => {
      most = Math.max(most, lane.runs.size);
      return job.finished;
    });
    expect(job.status()).toMatchObject({ done: n, failed: 0 });
    return { most, frames: frames(channel.sent), lane };
  }

  it('sends one task of unknown duration, then fills the lane with about 2 ms of short tasks', async () => {
    const { most, frames: f } = await run(50, 1, 0);
    expect(f[0]).toBe(1); // duration unknown: nothing queued behind it
    expect(most).toBeGreaterThanOrEqual(2);
    expect(most).toBeLessThanOrEqual(3);
  });

  it('grows the window to two round trips on a slow link, in frames of several tasks', async () => {
    const { most, frames: f, lane } = await run(300, 1, 10);
    expect(lane.windowMs).toBeCloseTo(20, 0);
    expect(most).toBeGreaterThanOrEqual(15);
    expect(most).toBeLessThanOrEqual(25);
    expect(f.reduce((m, n) => Math.max(m, n), 0)).toBeGreaterThan(1);
  });

  it('never queues a task of unknown duration behind a running one: each lane takes one', async () => {
    const { scheduler } = makeScheduler();
    const lanes = [0, 1, 2].map(() => connectLane(scheduler, () => ({ hold: true })));
    const job = submit(scheduler, Array.from({ length: 10 }, (_, i) => i));
    await runUntil(() => lanes.every((l) => l.channel.current));
    expect(lanes.map((l) => l.lane.runs.size)).toEqual([1, 1, 1]);
    expect(job.status()).toMatchObject({ running: 3, queued: 7 });
  });
});

describe('backpressure', () => {
  it('holds at most 512 tasks on a lane, however short they are', async () => {
    const { scheduler } = makeScheduler();
    const { lane } = connectLane(scheduler, (t) => ({ ok: t.arg, ms: 0 }), { latencyMs: 100 });
    const job = submit(scheduler, Array.from({ length: 2000 }, (_, i) => i));
    let most = 0;
    await runUntil(() => {
      most = Math.max(most, lane.runs.size);
      return job.finished;
    });
    expect(most).toBe(512);
  });

  it('dispatches only tasks whose arguments have arrived, and the rest as they arrive', async () => {
    const { scheduler } = makeScheduler();
    const { channel } = connectLane(scheduler, (t) => ({ ok: t.arg }));
    const job = makeJob(6);
    job.append(0, [1, 2].map((a) => encodeValue(a)));
    scheduler.submit(job);
    await runUntil(() => job.done === 2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(channel.started.map((t) => t.arg)).toEqual([1, 2]);
    expect(job.status()).toMatchObject({ state: 'submitting', done: 2, queued: 4 });
    job.append(2, [3, 4, 5, 6].map((a) => encodeValue(a)));
    scheduler.extended(job);
    await runUntil(() => job.finished);
    expect(channel.started.map((t) => t.arg)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('sends chunks of a big map appended back to back to each lane in one frame, not one frame per chunk', async () => {
    const { scheduler } = makeScheduler();
    // Tasks of the warm-up job answer at once (the function's duration becomes known); the big job's stay on their lanes.
    const script: Script = (t) => (typeof t.arg === 'number' && t.arg >= 100 ? { hold: true } : { ok: t.arg, ms: 0 });
    const lanes = Array.from({ length: 4 }, (_, i) => connectLane(scheduler, script, { agentId: `a${i}` }).channel);
    const warm = submit(scheduler, [0, 1, 2, 3], { fn: 'tiny' });
    await runUntil(() => warm.finished);
    const before = lanes.map((c) => frames(c.sent).length);
    // As an in-process client sends a map: the first chunk with the job, the others appended each after the last was taken.
    const job = makeJob(48, { fn: 'tiny' });
    const chunk = (from: number) => Array.from({ length: 16 }, (_, i) => encodeValue(100 + from + i));
    job.append(0, chunk(0));
    scheduler.submit(job);
    for (const from of [16, 32]) {
      await Promise.resolve();
      job.append(from, chunk(from));
      scheduler.extended(job);
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(job.status().queued).toBe(0);
    // All three chunks together: one frame of 12 tasks a lane.
    expect(lanes.map((c, i) => frames(c.sent).slice(before[i]))).toEqual(lanes.map(() => [12]));
  });

  it('counts the tasks waiting for a slot as the backlog its pool is sized by', async () => {
    const { scheduler } = makeScheduler();
    connectLane(scheduler, () => ({ hold: true }));
    submit(scheduler, Array.from({ length: 5 }, (_, i) => i));
    await runUntil(() => scheduler.freeLanes('p') === 0);
    expect(scheduler.backlog('p')).toBe(4);
    expect(scheduler.backlog('q')).toBe(0);
  });
});
