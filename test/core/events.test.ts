/**
 * The control-event stream, from real agents: a map with a failing task on a pool that scales
 * up for it and back down after, read by two independent subscribers (and one that throws).
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { ControlEvent } from '../../server/events.js';
import { deferred, within } from '../support/async.js';
import { scaled } from '../support/timing.js';

type Of<K extends ControlEvent['type']> = Extract<ControlEvent, { type: K }>;
const only = <K extends ControlEvent['type']>(events: ControlEvent[], type: K) => events.filter((e): e is Of<K> => e.type === type);

describe('control events', () => {
  it('a failing map on a pool that scales up and down yields the expected events to every subscriber', async () => {
    const fl = await connect({ pools: { ev: { launcher: 'local', min: 0, max: 2, slots: 1, idleTimeout: '1s' } } });
    const controller = fl.controller!;
    const a: ControlEvent[] = [];
    const b: ControlEvent[] = [];
    // Every agent gone again, and its lanes: the pool scaled down after the job. (An agent's
    // exit and its lanes' close race: either may be seen first.)
    const down = deferred();
    const offA = controller.events.subscribe((e) => {
      a.push(e);
      const launched = only(a, 'agent.launched').length;
      if (launched > 0 && only(a, 'agent.exited').length === launched && only(a, 'lane.removed').length === only(a, 'lane.added').length) down.resolve();
    });
    const offB = controller.events.subscribe((e) => void b.push(e));
    // A subscriber that throws is dropped; the others and the controller go on.
    controller.events.subscribe(() => {
      throw new Error('a broken listener');
    });
    try {
      const job = fl.map([0, 1, 2, 3, 4, 5], async (x: number) => {
        await new Promise((r) => setTimeout(r, 50));
        if (x === 3) throw new Error('three is bad');
        return x * 2;
      }, { retries: 0, pool: 'ev' });
      const outcomes = await job.outcomes();
      expect(outcomes.filter((o) => !o.ok).map((o) => o.index)).toEqual([3]);
      await within(down.promise, 20_000, () => `the pool scaling down; events so far: ${a.map((e) => e.type).join(', ')}`);
      offA();
      offB();

      expect(b).toEqual(a);
      const types = a.map((e) => e.type);
      const submitted = only(a, 'job.submitted');
      expect(submitted).toHaveLength(1);
      const id = submitted[0]!.job;
      expect(submitted[0]).toMatchObject({ pool: 'ev', total: 6 });

      // Scaled up to its max for six queued tasks, every agent connected a lane.
      const launched = only(a, 'agent.launched');
      expect(launched).toHaveLength(2);
      expect(launched.every((e) => e.pool === 'ev' && typeof e.pid === 'number')).toBe(true);
      const added = only(a, 'lane.added');
      expect(new Set(added.map((e) => e.lane.agentId))).toEqual(new Set(launched.map((e) => e.agentId)));

      // Every task started and finished once, on a lane of the pool; task 3 failed with its error.
      const batches = only(a, 'tasks');
      expect(batches.every((t) => t.job === id && !t.omitted)).toBe(true);
      const started = batches.flatMap((t) => t.started);
      const finished = batches.flatMap((t) => t.finished);
      expect(started.map((s) => s[0]).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(finished.map((f) => f[0]).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(finished.filter((f) => !f[6]).map((f) => f[0])).toEqual([3]);
      for (const f of finished) expect(f[5]).toBeGreaterThanOrEqual(f[4]);
      const failures = batches.flatMap((t) => t.failures);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ index: 3, attempt: 1, error: { message: expect.stringContaining('three is bad') } });
      expect(batches.reduce((n, t) => n + t.requeued, 0)).toBe(0);

      // Progress between the submit and the end; the end after every task event of the job.
      const at = (e: ControlEvent) => a.indexOf(e);
      const fin = only(a, 'job.finished');
      expect(fin).toHaveLength(1);
      expect(fin[0]!.status).toMatchObject({ id, total: 6, done: 6, failed: 1 });
      const progress = only(a, 'job.progress').filter((e) => e.job === id);
      expect(progress.length).toBeGreaterThan(0);
      for (const p of progress) expect(at(p)).toBeGreaterThan(at(submitted[0]!));
      for (const e of [...progress, ...batches]) expect(at(e)).toBeLessThan(at(fin[0]!));

      // Scaled down: both agents retired idle, their lanes removed, the pool back to none.
      const exited = only(a, 'agent.exited');
      expect(new Set(exited.map((e) => e.agentId))).toEqual(new Set(launched.map((e) => e.agentId)));
      for (const e of exited) expect(e.reason).toMatch(/^retired: idle/);
      expect(only(a, 'lane.removed').map((e) => e.agentId).sort()).toEqual(added.map((e) => e.lane.agentId).sort());
      const statuses = only(a, 'pool.status').map((e) => e.pool);
      expect(statuses.every((s) => s.name === 'ev')).toBe(true);
      expect(Math.max(...statuses.map((s) => s.running))).toBe(2);
      expect(statuses.at(-1)).toMatchObject({ agents: 0, running: 0, starting: 0 });
      // An agent is launched before its lane connects. (Its exit and its lane's close race.)
      for (const l of launched) expect(at(l)).toBeLessThan(at(added.find((e) => e.lane.agentId === l.agentId)!));
      expect(types.at(-1)).toMatch(/^(agent\.exited|lane\.removed|pool\.status)$/);
      expect(controller.events.watched).toBe(false); // the thrower was removed, the others left
    } finally {
      offA();
      offB();
      await fl.close();
    }
  }, scaled(60_000));

  it('coalesces task events: at most one tasks batch and one progress event per job per event-loop turn', async () => {
    const fl = await connect({ pools: { tiny: { launcher: 'local', agents: 2 } }, waitForAgents: 2 });
    const events: { e: ControlEvent; turn: number }[] = [];
    // A turn number that changes whenever the event loop has gone round once.
    let turn = 0;
    let counting = false;
    const finished = deferred();
    const off = fl.controller!.events.subscribe((e) => {
      if (e.type === 'job.finished') finished.resolve();
      if (!counting) {
        counting = true;
        setImmediate(() => {
          counting = false;
          turn++;
        });
      }
      events.push({ e, turn });
    });
    try {
      const n = 3000;
      const out = await fl.map(Array.from({ length: n }, (_, i) => i), (x: number) => x + 1, { pool: 'tiny' });
      expect(out).toHaveLength(n);
      // The stream may tell the end a turn after the client has every result.
      await within(finished.promise, 10_000, 'the job.finished event');
      const id = only(events.map((x) => x.e), 'job.submitted')[0]!.job;
      const mine = events.filter((x) => 'job' in x.e && x.e.job === id);
      for (const type of ['tasks', 'job.progress'] as const) {
        const turns = mine.filter((x) => x.e.type === type).map((x) => x.turn);
        expect(new Set(turns).size, JSON.stringify(mine.map((x) => [x.e.type, x.turn, x.e.type === 'job.progress' ? x.e.status.done : x.e.type === 'tasks' ? x.e.finished.length : 0]))).toBe(turns.length);
      }
      const batches = only(mine.map((x) => x.e), 'tasks');
      expect(batches.flatMap((b) => b.finished).length).toBe(n);
      expect(batches.length).toBeLessThan(n / 4); // many results per batch
    } finally {
      off();
      await fl.close();
    }
  }, scaled(60_000));
});
