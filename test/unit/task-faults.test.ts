/**
 * What the scheduler does when tasks or lanes go wrong, on the fake clock (no processes): lost
 * lanes and their runs, the crash limit, timeouts, cancels, and results that arrive twice or
 * too late.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeValue } from '../../contract/codec.js';
import type { ControlEvent } from '../../server/events.js';
import type { TaskResult } from '../../server/job.js';
import { FakeLaneChannel } from './support/fake-lane.js';
import type { Script } from './support/fake-lane.js';
import { connectLane, makeScheduler, results, runUntil, submit } from './support/plane.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

const value = (r: TaskResult | undefined) => (r?.ok ? decodeValue(r.value) : r?.error.code);

describe('a lane lost with its runs', () => {
  it('re-runs the task that was in its slot elsewhere, counting the attempt', async () => {
    const { scheduler } = makeScheduler();
    const { lane } = connectLane(scheduler, () => ({ crash: 'agent killed', ms: 5 }));
    const job = submit(scheduler, ['x'], { retries: 2 });
    await runUntil(() => !scheduler.lanes.has(lane));
    const { channel: b } = connectLane(scheduler, (t) => ({ ok: `${t.arg} on b` }));
    await runUntil(() => job.finished);
    expect(b.started.map((t) => t.attempt)).toEqual([2]);
    expect(results(job)[0]).toMatchObject({ ok: true, attempt: 2 });
  });

  it('charges no attempt when it held several runs: each goes back uncharged and re-runs alone', async () => {
    const { scheduler } = makeScheduler();
    const { lane: a, channel } = connectLane(scheduler, (t) => ({ ok: t.arg, ms: 1 }));
    const job = submit(scheduler, Array.from({ length: 20 }, (_, i) => i), { retries: 0 });
    await runUntil(() => a.runs.size >= 2);
    const lost = a.runs.size;
    channel.drop('agent killed');
    expect(job.status()).toMatchObject({ running: 0, queued: 20 - job.done });
    const { lane: b, channel: bc } = connectLane(scheduler, (t) => ({ ok: t.arg, ms: 1 }));
    let most = 0;
    await runUntil(() => {
      if (b.completed < lost) most = Math.max(most, b.runs.size); // while the lost ones re-run
      return job.finished;
    });
    // retries: 0, yet none failed: an uncharged re-run is the same attempt.
    expect(job.status()).toMatchObject({ done: 20, failed: 0 });
    expect(bc.started.every((t) => t.attempt === 1)).toBe(true);
    expect(most).toBe(1);
  });

  it('fails a task whose agents keep dying under it as POISONOUS at the crash limit', async () => {
    const { scheduler } = makeScheduler();
    const job = submit(scheduler, ['poison'], { retries: 10, crashLimit: 3 });
    for (let i = 0; i < 3; i++) {
      const { lane } = connectLane(scheduler, () => ({ crash: `segfault ${i}` }));
      await runUntil(() => !scheduler.lanes.has(lane));
    }
    expect(job.finished).toBe(true);
    const r = results(job)[0]!;
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('POISONOUS');
      expect(r.error.message).toMatch(/running on 3 agents that died .*segfault 2.*crashLimit 3/);
      expect(r.error.context).toMatchObject({ jobId: job.id, taskIndex: 0, attempt: 3 });
    }
  });

  it('fails it AGENT_LOST once its retries are spent, below the crash limit', async () => {
    const { scheduler } = makeScheduler();
    const job = submit(scheduler, ['x'], { retries: 1, crashLimit: 5 });
    for (let i = 0; i < 2; i++) {
      const { lane } = connectLane(scheduler, () => ({ crash: 'oom' }));
      await runUntil(() => !scheduler.lanes.has(lane));
    }
    expect(value(results(job)[0])).toBe('AGENT_LOST');
    expect(results(job)[0]).toMatchObject({ error: { message: expect.stringMatching(/gave up after 2 attempt/) } });
  });

  it('sends a task back for another attempt when the job retries its error', async () => {
    const { scheduler } = makeScheduler();
    const { channel } = connectLane(scheduler, (t) => (t.attempt < 3 ? { error: 'flaky', retry: true } : { ok: 'third time' }));
    const job = submit(scheduler, ['x'], { retries: 2 });
    await runUntil(() => job.finished);
    expect(channel.started.map((t) => t.attempt)).toEqual([1, 2, 3]);
    expect(value(results(job)[0])).toBe('third time');
  });
});

describe('timeouts', () => {
  it('fails a task past its timeout, counted from its start, aborts it on the lane and goes on', async () => {
    const { scheduler } = makeScheduler();
    const script: Script = (t) => (t.arg === 'slow' ? { hold: true } : { ok: t.arg, ms: 10 });
    const { channel } = connectLane(scheduler, script);
    const job = submit(scheduler, ['slow', 'next'], { timeoutMs: 100 });
    await runUntil(() => job.finished);
    expect(results(job).map(value)).toEqual(['TIMEOUT', 'next']);
    expect(results(job)[0]).toMatchObject({ error: { message: 'task timed out after 100 ms', context: { timedOut: true } } });
    expect(channel.sent).toContainEqual({ t: 'cancel', runs: [channel.started[0]!.run] });
  });

  it('takes a lane away that neither starts nor answers its tasks with a timeout, and runs them elsewhere', async () => {
    const { scheduler } = makeScheduler();
    const { lane, channel } = connectLane(scheduler, (t) => ({ ok: t.arg }));
    channel.freeze();
    const job = submit(scheduler, ['x'], { timeoutMs: 100 });
    const t0 = Date.now();
    await runUntil(() => !scheduler.lanes.has(lane));
    // Twice the timeout plus 10 s of grace, from dispatch: not a moment before.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(10_200);
    expect(channel.isOpen).toBe(false);
    const { channel: b } = connectLane(scheduler, (t) => ({ ok: `${t.arg} on b` }));
    await runUntil(() => job.finished);
    expect(value(results(job)[0])).toBe('x on b');
    expect(b.started).toHaveLength(1);
  });

  it('tells the pools to replace a lane whose timed-out task does not leave its slot', async () => {
    const { scheduler } = makeScheduler();
    const { lane } = connectLane(scheduler, () => ({ never: true }));
    const stuck: string[] = [];
    scheduler.signals.on('stuck', (s) => s.lane === lane && stuck.push(s.why));
    const job = submit(scheduler, ['spin', 'after'], { timeoutMs: 100 });
    await runUntil(() => stuck.length > 0);
    expect(stuck[0]).toMatch(/did not leave its slot/);
    expect(job.status()).toMatchObject({ done: 1, queued: 1 }); // the lane takes nothing while it drains
  });
});

describe('cancel', () => {
  it('aborts a running task and fails the queued ones CANCELLED; the lane takes work again once the aborted run has left', async () => {
    const { scheduler } = makeScheduler();
    const { channel } = connectLane(scheduler, (t) => (t.arg === 'other' ? { ok: 'other' } : { hold: true }));
    const job = submit(scheduler, [0, 1, 2, 3]);
    await runUntil(() => channel.current !== undefined);
    expect(scheduler.cancel(job.id, 0)).toEqual({ cancelled: 1 });
    await runUntil(() => channel.current?.index === 1);
    expect(scheduler.cancel(job.id)).toEqual({ cancelled: 3 });
    expect(job.status()).toMatchObject({ state: 'cancelled', done: 4, failed: 4 });
    expect(results(job).map(value)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED', 'CANCELLED']);
    const cancels = channel.sent.filter((m) => m.t === 'cancel');
    expect(cancels).toEqual([{ t: 'cancel', runs: [channel.started[0]!.run] }, { t: 'cancel', runs: [channel.started[1]!.run] }]);
    // The lane is free again: the next job runs.
    const other = submit(scheduler, ['other']);
    await runUntil(() => other.finished);
    expect(value(results(other)[0])).toBe('other');
  });

  it('aborts the tasks queued behind the running one on a lane too, in one cancel frame', async () => {
    const { scheduler } = makeScheduler();
    const { lane, channel } = connectLane(scheduler, (t) => ({ ok: t.arg, ms: t.arg === 'long' ? 1000 : 0.5 }), { latencyMs: 0 });
    const warm = submit(scheduler, ['w']); // the function's duration is known from now on: the lane prefetches
    await runUntil(() => warm.finished);
    const job = submit(scheduler, ['long', 'a', 'b', 'c', 'd', 'e'], { fn: 'f' });
    await runUntil(() => channel.current?.arg === 'long' && channel.queued.length >= 2);
    const held = [...lane.runs];
    expect(scheduler.cancel(job.id).cancelled).toBe(6);
    expect(channel.sent.at(-1)).toEqual({ t: 'cancel', runs: held });
    await runUntil(() => lane.draining.size === 0);
    expect(channel.holding).toBe(0);
    expect(results(job).every((r) => !r.ok && r.error.code === 'CANCELLED')).toBe(true);
  });

  it('names an unknown job or a bad index', () => {
    const { scheduler } = makeScheduler();
    const job = submit(scheduler, [1]);
    expect(() => scheduler.cancel('nope')).toThrow(/no job nope/);
    expect(() => scheduler.cancel(job.id, 3)).toThrow(/task index must be an integer in \[0, 1\), got 3/);
  });
});

describe('a result', () => {
  it('is recorded once: a duplicate frame, and a late answer of an aborted run, are dropped', async () => {
    const { scheduler, events } = makeScheduler();
    const finished: number[] = [];
    events.subscribe((e: ControlEvent) => e.type === 'tasks' && finished.push(...e.finished.map((f) => f[0])));
    const { lane, channel } = connectLane(scheduler, () => ({ hold: true }));
    const job = submit(scheduler, ['a', 'b']);
    await runUntil(() => channel.current !== undefined);
    const first = channel.current!;
    channel.finish(first.run, { ok: 'first' });
    await runUntil(() => job.done === 1);
    const frame = { t: 'res' as const, r: [FakeLaneChannel.result(first, { ok: 'first' })] };
    channel.receive(frame);
    channel.receive({ t: 'res', r: [FakeLaneChannel.result(first, { ok: 'again' })] });
    await runUntil(() => channel.current !== undefined && channel.current !== first);
    const second = channel.current!;
    scheduler.cancel(job.id, 1);
    channel.receive({ t: 'res', r: [FakeLaneChannel.result(second, { ok: 'too late' })] });
    await runUntil(() => job.finished);
    await vi.advanceTimersByTimeAsync(10);
    expect(results(job).map(value)).toEqual(['first', 'CANCELLED']);
    expect(job.logLength).toBe(2);
    expect(lane.completed).toBe(1);
    expect(finished).toEqual([0]);
  });

  it('for a run re-sent elsewhere after its lane was lost is dropped: the run that counts is the one that re-ran it', async () => {
    const { scheduler } = makeScheduler();
    const { channel: a } = connectLane(scheduler, () => ({ hold: true }));
    const job = submit(scheduler, ['x']);
    await runUntil(() => a.current !== undefined);
    const lost = a.current!;
    a.drop('network cut');
    const { channel: b } = connectLane(scheduler, () => ({ hold: true }));
    await runUntil(() => b.current !== undefined);
    // A frame the lost lane had sent before it went (the real channel drops later ones itself).
    a.receive({ t: 'res', r: [FakeLaneChannel.result(lost, { ok: 'from the lost lane' })] });
    // Nor may a lane answer for a run it was never given.
    a.receive({ t: 'res', r: [FakeLaneChannel.result(b.current!, { ok: 'not its run' })] });
    expect(job.done).toBe(0);
    b.finish(b.current!.run, { ok: 'from b' });
    await runUntil(() => job.finished);
    expect(value(results(job)[0])).toBe('from b');
  });
});
