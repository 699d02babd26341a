import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, FlotillaError } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { encodeValue } from '../../contract/codec.js';
import { rejection, until } from '../support/async.js';

let fl: Session;
beforeAll(async () => {
  fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2 });
});
afterAll(() => fl?.close());

describe('map on local agents', () => {
  it('returns values in input order', async () => {
    expect(await fl.map([1, 2, 3, 4, 5], (x) => x * x)).toEqual([1, 4, 9, 16, 25]);
  });

  it('puts globals in scope under their names, functions included', async () => {
    const k = 3;
    const scale = (v: number) => v * k;
    expect(await fl.map([{ v: 1 }, { v: 2 }], (r) => scale(r.v) + k, { globals: { k, scale } })).toEqual([6, 9]);
  });

  it('streams outcomes in completion order while await keeps input order', async () => {
    const job = fl.map([300, 10, 150], async (ms) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    });
    const order: number[] = [];
    for await (const r of job) {
      expect(r.ok).toBe(true);
      order.push(r.index);
    }
    expect(order).toEqual([1, 2, 0]);
    expect(await job).toEqual([300, 10, 150]);
  });

  it('round-trips rich values: Date, Map, Set, BigInt, undefined, NaN, typed arrays, Buffer', async () => {
    const item = {
      d: new Date('2020-02-02T00:00:00Z'),
      m: new Map<string, Set<number>>([['a', new Set([1, 2])]]),
      big: 2n ** 80n,
      u: undefined,
      n: NaN,
      f: new Float64Array([1.5, -2.25, Math.PI]),
      i: new Int32Array([-1, 7]),
      b: Buffer.from('héllo'),
    };
    const [out] = await fl.map([item], (x) => ({ ...x, big: x.big + 1n, f: x.f.map((v) => v * 2) }));
    expect(out!.d).toEqual(item.d);
    expect(out!.m).toEqual(item.m);
    expect(out!.big).toBe(2n ** 80n + 1n);
    expect('u' in out! && out!.u === undefined).toBe(true);
    expect(out!.n).toBeNaN();
    expect(out!.f).toBeInstanceOf(Float64Array);
    expect(Array.from(out!.f)).toEqual([3, -4.5, 2 * Math.PI]);
    expect(out!.i).toBeInstanceOf(Int32Array);
    expect(Buffer.isBuffer(out!.b) && out!.b.toString()).toBe('héllo');
  });

  it('sends typed arrays as raw bytes, not as JSON lists of numbers', () => {
    const f = new Float64Array(1000).fill(0.1);
    const e = encodeValue(f);
    expect(e.b?.[0]?.byteLength).toBe(8000);
    expect(JSON.stringify(e.j).length).toBeLessThan(100);
  });

  it('fails before submitting when the function uses a name it was not given', async () => {
    const before = fl.controller!.scheduler.jobs.size;
    const k = 2;
    const job = fl.map([1], (x) => x * k);
    const err = await rejection(job);
    expect(await rejection(job.id)).toBe(err); // no id will ever come for a job never submitted
    expect(err).toBeInstanceOf(FlotillaError);
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain('"k"');
    expect(fl.controller!.scheduler.jobs.size).toBe(before);
  });

  it('fails at submit with the item that cannot be sent', async () => {
    const err = await rejection(fl.map([1, { f: () => 1 }], (x) => x));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/item 1\.f is a function/);
  });

  it('names a bad option and its value', async () => {
    const err = await rejection(fl.map([1], (x) => x, { timeoutMs: -5 }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/timeoutMs/);
    const err2 = await rejection(fl.map([1], (x) => x, { pool: 'nope' }));
    expect(err2.code).toBe('BAD_INPUT');
    expect(err2.message).toMatch(/no pool named "nope"/);
  });

  it("returns the user's error with message, name, stack and context", async () => {
    const job = fl.map([1, 2, 3], (x) => {
      if (x === 2) throw new RangeError(`bad value ${x}`);
      return x;
    });
    const outcomes = await job.outcomes();
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const e = (outcomes[1] as { error: FlotillaError }).error;
    expect(e).toBeInstanceOf(FlotillaError);
    expect(e.code).toBe('TASK_ERROR');
    expect(e.message).toBe('bad value 2');
    expect(e.remoteName).toBe('RangeError');
    expect(e.stack).toContain('RangeError: bad value 2');
    expect(e.context).toMatchObject({ taskIndex: 1, attempt: 1, pool: 'local', jobId: await job.id });
    expect(typeof e.context.agentId).toBe('string');
    expect(typeof e.context.host).toBe('string');
    const err = await rejection(job);
    expect(err.message).toMatch(/1 of 3 task\(s\) failed; first, task 1: bad value 2/);
  });

  it('gives the task its index, attempt and an abort signal', async () => {
    const out = await fl.map(['a', 'b'], (x, ctx) => `${x}${ctx.index}:${ctx.attempt}:${ctx.signal.aborted}`);
    expect(out).toEqual(['a0:1:false', 'b1:1:false']);
  });

  it('runs an empty map and many tiny tasks', async () => {
    expect(await fl.map([], (x: number) => x)).toEqual([]);
    const n = 20_000;
    const out = await fl.map(Array.from({ length: n }, (_, i) => i), (x) => x + 1);
    expect(out.length).toBe(n);
    expect(out[0]).toBe(1);
    expect(out[n - 1]).toBe(n);
  });

  it("keeps each lane's function cache bounded while many distinct functions run", async () => {
    for (let k = 0; k < 70; k++) expect(await fl.map([1], (x) => x + k, { globals: { k } })).toEqual([1 + k]);
    for (const lane of fl.controller!.scheduler.lanes) expect(lane.fnRefs.size).toBeLessThanOrEqual(64);
    expect(await fl.map([1, 2], (x) => x * 3)).toEqual([3, 6]);
  });

  it('shares lanes fairly: a small job submitted behind a big one is not starved', async () => {
    const big = fl.map(Array.from({ length: 400 }, (_, i) => i), async (x) => {
      await new Promise((r) => setTimeout(r, 5));
      return x;
    });
    const bigId = await big.id;
    await until(async () => (await fl.status(bigId)).done > 0);
    // Fair means the small job ends while much of the big one is still to run: count, not time.
    let smallDone = false;
    const small = fl.map([1, 2, 3], (x) => x).then((v) => ((smallDone = true), v));
    let bigAfterSmall = 0;
    for await (const r of big) if (smallDone && r.ok) bigAfterSmall++;
    await small;
    expect(bigAfterSmall).toBeGreaterThan(40);
  });
});
