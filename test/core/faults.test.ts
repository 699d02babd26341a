import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, FlotillaError } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { rejection, until } from '../support/async.js';

/** Shipped to the agents in `globals`. */
declare const marker: string;
declare const flaky: string;
declare const missingName: unknown;

let fl: Session;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-faults-'));
  fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2 });
});
afterAll(async () => {
  await fl?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('faults', () => {
  it('times out a task that never settles, and one stuck in synchronous code', async () => {
    const job = fl.map([0, 1, 2, 3], (x) => {
      if (x === 1) return new Promise(() => {});
      if (x === 2) for (;;);
      return x;
    }, { timeoutMs: 400 });
    const out = await job.outcomes();
    expect(out.map((o) => o.ok)).toEqual([true, false, false, true]);
    for (const i of [1, 2]) {
      const e = (out[i] as { error: FlotillaError }).error;
      expect(e.code).toBe('TIMEOUT');
      expect(e.message).toMatch(/timed out after 400 ms/);
      expect(e.context.timedOut).toBe(true);
    }
    // The stuck lane was replaced: the pool still has all its slots and they work.
    await until(async () => (await fl.agents()).lanes.length === 2);
    expect(await fl.map([5, 6, 7], (x) => x * 2)).toEqual([10, 12, 14]);
  });

  it('cancels a job: queued tasks dropped, running ones aborted on the agents', async () => {
    const done = join(dir, 'cancel');
    const job = fl.map([0, 1, 2, 3, 4, 5], async (x, { signal }) => {
      const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
      await new Promise((resolve, reject) => {
        // This task ignores its signal: only the agent can stop it, by replacing its lane.
        if (x % 2 === 1) setTimeout(resolve, 3000);
        else {
          const t = setTimeout(resolve, 3000);
          signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)));
        }
      });
      fs.writeFileSync(`${marker}-${x}`, 'ran to the end');
    }, { globals: { marker: done } });
    const id = await job.id;
    await until(async () => (await fl.status(id)).running === 2);
    await job.cancel();
    const err = await rejection(job);
    expect(err?.code).toBe('CANCELLED');
    const status = await fl.status(id);
    expect(status).toMatchObject({ state: 'cancelled', done: 6, running: 0, queued: 0 });
    // Wait past the tasks' natural end: none of them may have finished its work.
    await new Promise((r) => setTimeout(r, 3500));
    for (let i = 0; i < 6; i++) expect(existsSync(`${done}-${i}`)).toBe(false);
    expect(await fl.map([1], (x) => x)).toEqual([1]);
  });

  it('cancels one task and leaves the others running', async () => {
    const job = fl.map([50, 2000, 50], (ms) => new Promise((r) => setTimeout(() => r(ms), ms)));
    const id = await job.id;
    await until(async () => (await fl.status(id)).done >= 1);
    expect(await fl.cancel(id, 1)).toEqual({ cancelled: 1 });
    const out = await job.outcomes();
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
    expect((out[1] as { error: FlotillaError }).error.code).toBe('CANCELLED');
  });

  it('aborting the signal cancels the job', async () => {
    const ac = new AbortController();
    const job = fl.map([1, 2], () => new Promise((r) => setTimeout(r, 5000)), { signal: ac.signal });
    const id = await job.id;
    ac.abort();
    const err = await rejection(job);
    expect(err?.code).toBe('CANCELLED');
    await until(async () => (await fl.status(id)).state === 'cancelled');
    const pre = new AbortController();
    pre.abort();
    const e2 = await rejection(fl.map([1], (x) => x, { signal: pre.signal }));
    expect(e2?.code).toBe('CANCELLED');
  });

  it('re-runs the tasks of an agent killed with SIGKILL: none lost, none reported twice', async () => {
    const n = 60;
    const job = fl.map(Array.from({ length: n }, (_, i) => i), async (x) => {
      await new Promise((r) => setTimeout(r, 40));
      return x * 10;
    });
    const seen = new Map<number, number>();
    let killed = false;
    for await (const r of job) {
      seen.set(r.index, (seen.get(r.index) ?? 0) + 1);
      expect(r.ok).toBe(true);
      if (!killed && seen.size >= 10) {
        killed = true;
        const lanes = (await fl.agents()).lanes;
        const busy = lanes.find((l) => l.inFlight > 0) ?? lanes[0]!;
        process.kill(busy.pid, 'SIGKILL');
      }
    }
    expect(killed).toBe(true);
    expect(seen.size).toBe(n);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect(await job).toEqual(Array.from({ length: n }, (_, i) => i * 10));
    // The pool replaced the killed agent.
    await until(async () => (await fl.agents()).lanes.length === 2);
  });

  it('fails a task with AGENT_LOST once its retries are spent', async () => {
    const job = fl.map([1], () => {
      process.kill(process.pid, 'SIGKILL'); // kills whichever agent runs it, every time
    }, { retries: 1 });
    const [o] = await job.outcomes();
    expect(o!.ok).toBe(false);
    const e = (o as { error: FlotillaError }).error;
    expect(e.code).toBe('AGENT_LOST');
    expect(e.context.attempt).toBe(2);
    await until(async () => (await fl.agents()).lanes.length === 2);
  });

  it("re-runs a task whose error retryIf accepts, up to retries; other errors and other jobs' are not retried", async () => {
    // Fails on its first attempt with a "flaky" error; task 2 always throws a "bug".
    const fn = (x: number, ctx: { attempt: number }) => {
      if (x === 2) throw new TypeError('bug');
      if (ctx.attempt === 1) throw new Error(`flaky ${x}`);
      return { x, attempt: ctx.attempt };
    };
    const retried = await fl.map([0, 1, 2], fn, { retries: 3, retryIf: (err: unknown) => String(err).includes(flaky), globals: { flaky: 'flaky' } }).outcomes();
    expect(retried.map((o) => (o.ok ? o.value : o.error.message))).toEqual([{ x: 0, attempt: 2 }, { x: 1, attempt: 2 }, 'bug']);
    expect(retried[2]!.ok ? 0 : retried[2]!.error.context.attempt).toBe(1);
    expect(retried.map((o) => o.ok && o.attempt)).toEqual([2, 2, false]);

    const plain = await fl.map([0, 1], fn, { retries: 3 }).outcomes();
    expect(plain.map((o) => (o.ok ? o.value : o.error.message))).toEqual(['flaky 0', 'flaky 1']);
    // retries bound retryIf too: always flaky, 1 retry, 2 attempts.
    const [spent] = await fl.map([5], () => {
      throw new Error('flaky always');
    }, { retries: 1, retryIf: () => true }).outcomes();
    expect(spent!.ok ? 0 : spent!.error.context.attempt).toBe(2);
  });

  it('says where each outcome ran: agent, host, pool and attempt', async () => {
    const out = await fl.map([1, 2], (x) => {
      if (x === 2) throw new Error('no');
      return x;
    }).outcomes();
    const agentIds = (await fl.agents()).lanes.map((l) => l.agentId);
    const [ok, bad] = out;
    expect(ok).toMatchObject({ ok: true, pool: 'local', attempt: 1, host: expect.any(String) });
    expect(agentIds).toContain(ok!.ok && ok!.agentId);
    expect(bad!.ok).toBe(false);
    expect(bad!.ok ? {} : bad!.error.context).toMatchObject({ pool: 'local', attempt: 1, host: expect.any(String), agentId: expect.stringMatching(/^local-/) });
  });

  it('bad retryIf and crashLimit options are named', async () => {
    expect((await rejection(fl.map([1], (x) => x, { retryIf: 'yes' as never }))).message).toMatch(/retryIf must be a function/);
    expect((await rejection(fl.map([1], (x) => x, { crashLimit: 0 }))).message).toMatch(/crashLimit/);
    expect((await rejection(fl.map([1], (x) => x, { retryIf: (e: unknown) => e === missingName }))).message).toMatch(/retryIf uses "missingName"/);
  });
});

describe('a slot held by a task that will not stop', () => {
  let one: Session;
  beforeAll(async () => {
    one = await connect({ pools: { local: { launcher: 'local', agents: 1 } }, waitForAgents: 1 });
  });
  afterAll(() => one?.close());

  it('a sync task past its timeout costs the next task nothing: it waits for a fresh slot, not AGENT_LOST', async () => {
    const out = await one.map([0, 1, 2], (x) => {
      if (x === 0) for (;;);
      return x;
    }, { timeoutMs: 300, retries: 0 }).outcomes();
    expect(out.map((o) => (o.ok ? o.value : o.error.code))).toEqual(['TIMEOUT', 1, 2]);
  });

  it('a cancelled task that ignores its signal costs the next job nothing', async () => {
    const job = one.map([1], () => new Promise((r) => setTimeout(r, 3000)));
    const id = await job.id;
    await until(async () => (await one.status(id)).running === 1);
    await job.cancel();
    await rejection(job);
    expect(await one.map([7], (x) => x * 2, { retries: 0 })).toEqual([14]);
  });

  it('the thread that replaces an abandoned task keeps the next job: a slow next task runs once, to its end', async () => {
    const job = one.map([1], () => new Promise((r) => setTimeout(r, 60_000)));
    const id = await job.id;
    await until(async () => (await one.status(id)).running === 1);
    await job.cancel();
    await rejection(job);
    // Still running when the controller's own check on the abandoned task comes due (2 s after
    // the cancel): it must not take the fresh thread for the stuck one it replaced.
    const [o] = await one.map([7], (x) => new Promise((r) => setTimeout(() => r(x * 2), 3000)), { retries: 0 }).outcomes();
    expect(o!.ok ? o!.value : o!.error.message).toBe(14);
    expect(o!.ok && o!.attempt).toBe(1);
  });

  it('a task queued behind an abandoned one is handed back uncharged and runs on the fresh thread', async () => {
    const triple = (x: number) => x * 3;
    expect(await one.map([1], triple)).toEqual([3]); // known fast: later tasks of it are queued behind others
    // Short tasks, then one that ignores its signal: it is dispatched as short, and holds the slot.
    const job = one.map([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], (x) => (x < 9 ? x : new Promise((r) => setTimeout(r, 60_000))));
    const id = await job.id;
    await until(async () => (await one.status(id)).done === 9);
    const next = one.map([5], triple, { retries: 0 });
    const nextId = await next.id;
    await until(async () => (await one.status(nextId)).running === 1);
    await job.cancel();
    await rejection(job);
    const [o] = await next.outcomes();
    expect(o!.ok ? o!.value : o!.error.message).toBe(15);
    expect(o!.ok && o!.attempt).toBe(1);
  });

  it('a timed-out async task does not keep running on its agent: its thread is replaced', async () => {
    const [o] = await one.map([0], () => {
      const g = globalThis as { ticks?: number };
      g.ticks = 0;
      setInterval(() => g.ticks!++, 5);
      return new Promise(() => {});
    }, { timeoutMs: 200 }).outcomes();
    expect(o!.ok ? 'ok' : o!.error.code).toBe('TIMEOUT');
    expect(await one.map([0], () => (globalThis as { ticks?: number }).ticks ?? 'fresh thread')).toEqual(['fresh thread']);
  });

  it('aborting the signal right after map() still cancels the job', async () => {
    const ac = new AbortController();
    const job = one.map([1, 2, 3], (x) => new Promise((r) => setTimeout(() => r(x), 1500)), { signal: ac.signal });
    ac.abort();
    expect((await rejection(job)).code).toBe('CANCELLED');
  });
});
