/**
 * Partial results (`ctx.emit`) on real local agents: each arrives at the job's partial listeners
 * before its task's result, tiny synchronous tasks included (parts and results share frames);
 * nothing of a task arrives once it is cancelled; a job records no partial in its results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { decodeValue, encodeValue } from '../../contract/codec.js';
import { shipFunction } from '../../client/ship.js';
import type { TaskContext } from '../../contract/task-context.js';
import { Job } from '../../server/job.js';
import { deferred, until, within } from '../support/async.js';

let fl: Session;
beforeAll(async () => {
  fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2 });
});
afterAll(() => fl?.close());

/** Submits `fn` over `items` on the embedded controller; logs partials and results as they arrive. */
function run(items: unknown[], fn: (x: any, ctx: TaskContext) => unknown, opts: { timeoutMs?: number } = {}) {
  const controller = fl.controller!;
  const { jobId } = controller.submit({ fn: shipFunction(fn, {}), args: items.map((x) => encodeValue(x)), ...opts });
  const job = controller.scheduler.jobs.get(jobId)!;
  const events: string[] = [];
  const parts: { index: number; attempt: number; value: any }[] = [];
  const unhear = job.onPartial((index, attempt, value) => {
    parts.push({ index, attempt, value: decodeValue(value) });
    events.push(`part ${index}`);
  });
  const done = deferred<void>();
  job.watch(0, (seq, results) => {
    for (const r of results) events.push(`result ${r.index}`);
    if (seq >= job.total) done.resolve();
  });
  return { jobId, job, events, parts, done: done.promise.finally(unhear) };
}

describe('partial results (ctx.emit)', () => {
  it('reach the controller before their task result, for async and tiny synchronous tasks alike', async () => {
    const slow = run([0, 1, 2, 3], async (x, ctx) => {
      ctx.emit!({ x, step: 1 });
      await new Promise((r) => setTimeout(r, 30));
      ctx.emit!({ x, step: 2 });
      return x;
    });
    // Many tiny tasks a frame: their parts and results leave in the same flushes.
    const n = 2000;
    const tiny = run(Array.from({ length: n }, (_, i) => i), (x, ctx) => {
      ctx.emit!(x * 10);
      return x;
    });
    await within(Promise.all([slow.done, tiny.done]), 30_000, 'both jobs to finish');

    for (const x of [0, 1, 2, 3]) {
      const mine = slow.events.filter((e) => e.endsWith(` ${x}`));
      expect(mine).toEqual([`part ${x}`, `part ${x}`, `result ${x}`]);
    }
    expect(slow.parts.filter((p) => p.index === 2).map((p) => p.value)).toEqual([{ x: 2, step: 1 }, { x: 2, step: 2 }]);
    expect(slow.parts.every((p) => p.attempt === 1)).toBe(true);
    // Every tiny task's part arrived, each ahead of its result (a part after it would be dropped).
    const at = new Map(tiny.events.map((e, i) => [e, i]));
    for (let i = 0; i < n; i++) expect(at.get(`part ${i}`)).toBeLessThan(at.get(`result ${i}`)!);
    expect(tiny.parts.map((p) => p.value).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i * 10));
    // Partials are not results: the job's values are the tasks' returns.
    expect(await fl.attach(tiny.jobId).then((vs) => vs.slice(0, 3))).toEqual([0, 1, 2]);
  }, 60_000);

  it('from a cancelled task, none arrive after the cancel, though its code goes on emitting', async () => {
    const j = run([0], async (_x, ctx) => {
      // Ignores its signal on purpose (within the agent's 1 s grace).
      for (let i = 0; i < 30; i++) {
        ctx.emit!(i);
        await new Promise((r) => setTimeout(r, 20));
      }
      return 'end';
    });
    await within((async () => { while (j.parts.length === 0) await new Promise((r) => setImmediate(r)); })(), 20_000, 'a first partial');
    fl.controller!.scheduler.cancel(j.jobId, 0);
    const seen = j.parts.length;
    await within(j.done, 10_000, 'the cancelled job');
    // The task runs out its loop on the agent, then its slot's result comes back (after any part).
    await until(() => [...fl.controller!.scheduler.lanes].every((l) => l.draining.size === 0), 10_000);
    expect(j.parts.length).toBe(seen);
    expect(seen).toBeLessThan(30);
  }, 60_000);

  it('a job hands partials of running tasks to its listeners only, and drops them once a task is finished', () => {
    const job = new Job({ id: 'j-partial', fn: shipFunction((x: number) => x, {}), pool: 'local', total: 2, retries: 0, crashLimit: 3, timeoutMs: 0 });
    job.append(0, [encodeValue(0), encodeValue(1)]);
    const heard: [number, number][] = [];
    const off = job.onPartial((index, attempt) => heard.push([index, attempt]));
    job.partial(0, 1, encodeValue('queued: not running yet'));
    const i = job.take();
    job.partial(i, 1, encodeValue('a'));
    job.record({ index: i, ok: true, value: encodeValue(0) });
    job.partial(i, 1, encodeValue('after its result'));
    const k = job.take();
    off();
    job.partial(k, 1, encodeValue('no listener'));
    expect(heard).toEqual([[0, 1]]);
    expect(job.readLog(0, 10)).toHaveLength(1);
  });
});
