/**
 * The task table on its own (no processes): which task is dispatched next, what a requeue, a
 * finish and a crash change, and the one way to fail what is left of a job.
 */
import { describe, expect, it } from 'vitest';
import { QUEUED, RUNNING, TaskTable } from '../../server/jobs/task-table.js';

describe('task table', () => {
  it('keeps the same books in plain lists (a few tasks) as in typed arrays (many)', () => {
    const run = (total: number) => {
      const t = new TaskTable(total, 0);
      t.extend(total);
      const a = t.take(false);
      const b = t.take(false);
      t.requeue(a, { uncharged: true });
      t.requeue(b);
      const again = t.take(true);
      t.finish(again, false);
      t.finish(t.take(false), true);
      return { perTask: [...t.attempts].slice(0, 3), state: [...t.state].slice(0, 3), done: t.done, failed: t.failed, running: t.running, queued: t.queued - (total - 3) };
    };
    expect(run(3)).toEqual(run(3000));
    expect(run(3)).toEqual({ perTask: [0, 2, 1], state: [0, 2, 2], done: 2, failed: 1, running: 0, queued: 1 });
  });

  it('hands out only tasks whose arguments arrived, in order, and knows when each chunk was queued', () => {
    const t = new TaskTable(5, 1000);
    expect(t.take(false)).toBe(-1);
    t.extend(2, 2000);
    expect([t.take(false), t.take(false), t.take(false)]).toEqual([0, 1, -1]);
    t.extend(3, 3000);
    expect(t.take(false)).toBe(2);
    expect(t.sealed).toBe(true);
    expect([t.queuedAt(0), t.queuedAt(1), t.queuedAt(2), t.queuedAt(4)]).toEqual([2000, 2000, 3000, 3000]);
    expect({ running: t.running, queued: t.queued, attempts: [...t.attempts] }).toEqual({ running: 3, queued: 2, attempts: [1, 1, 1, 0, 0] });
  });

  it('reruns a requeued task from its own queue; an uncharged dispatch is no attempt', () => {
    const t = new TaskTable(3, 0);
    t.extend(3);
    const a = t.take(false);
    const b = t.take(false);
    t.requeue(a);
    t.requeue(b, { uncharged: true });
    t.requeue(b); // not running any more: nothing changes
    expect([t.state[a], t.state[b]]).toEqual([QUEUED, QUEUED]);
    expect([...t.attempts]).toEqual([1, 0, 0]);
    expect(t.take(true)).toBe(b);
    expect(t.take(true)).toBe(a);
    expect(t.take(true)).toBe(-1);
    expect([...t.attempts]).toEqual([2, 1, 0]);
    expect(t.take(false)).toBe(2);
  });

  it('skips a queued task that finished meanwhile, and counts each task finished once', () => {
    const t = new TaskTable(3, 0);
    t.extend(3);
    expect(t.finish(0, false)).toBe(true); // a cancel of a task still queued
    expect(t.take(false)).toBe(1);
    expect(t.finish(1, true)).toBe(true);
    expect(t.finish(1, true)).toBe(false);
    expect(t.finish(7, true)).toBe(false);
    expect({ done: t.done, failed: t.failed, running: t.running, queued: t.queued }).toEqual({ done: 2, failed: 1, running: 0, queued: 1 });
    expect(t.take(false)).toBe(2);
    expect(t.state[2]).toBe(RUNNING);
  });

  it('leaves a task queued and uncharged when its argument cannot be readied', () => {
    const t = new TaskTable(1, 0);
    t.extend(1);
    expect(() => t.take(false, { hold: () => { throw new Error('no chunk'); } })).toThrow('no chunk');
    expect({ state: t.state[0], attempts: t.attempts[0], running: t.running }).toEqual({ state: QUEUED, attempts: 0, running: 0 });
  });

  it('counts crashes per task up to 255', () => {
    const t = new TaskTable(2, 0);
    for (let i = 0; i < 300; i++) t.crashed(0);
    expect([t.crashed(0), t.crashed(1)]).toEqual([255, 1]);
  });

  it('fails the rest: a range, or only queued tasks, and stops once the job is finished', () => {
    const t = new TaskTable(6, 0);
    t.extend(6);
    t.take(false); // 0 running
    t.finish(1, true);
    const failed: number[] = [];
    const fail = (i: number) => (failed.push(i), t.finish(i, false));
    expect(t.failRest(fail, { queuedOnly: true, to: 3 })).toBe(1);
    expect(failed).toEqual([2]);
    expect(t.failRest(fail, { from: 4, to: 5 })).toBe(1);
    expect(failed).toEqual([2, 4]);
    // The job finishes (its table released) midway: nothing after that is called.
    const seen: number[] = [];
    expect(t.failRest((i) => (seen.push(i), t.finish(i, false), i === 3 && t.release(), true))).toBe(2);
    expect(seen).toEqual([0, 3]);
    expect(t.state.length).toBe(0);
    expect(t.finish(5, true)).toBe(false);
  });

  it('restores a finished job as counts only', () => {
    const t = new TaskTable(4, 0);
    t.extend(4);
    t.finishAll(3);
    expect({ done: t.done, failed: t.failed, queued: t.queued, state: t.state.length }).toEqual({ done: 4, failed: 3, queued: 0, state: 0 });
  });
});
