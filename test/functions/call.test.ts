/**
 * `fl.call` of a registered function on an embedded controller, which takes a direct path (no
 * map handle, no result stream): what it must still give like a one-task map. Values and task
 * errors, errors that point at the caller's line, retries and time limits, concurrent calls,
 * a session or controller closing under a call, signals, and a program that does not wait.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { localCall } from '../../client/local-call.js';
import type { FlotillaError, Session } from '../../client/index.js';
import { deferred, rejection, within } from '../support/async.js';
import { closedInfo } from '../../server/result-feed.js';

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
const pools = { local: { launcher: 'local' as const, agents: 1, slots: 1 } };

/** A task that runs until its signal aborts it (a timeout, a cancel), then rejects with the reason. */
const untilAborted = (_x: number, ctx: { signal: AbortSignal }) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));

let fl: Session;
beforeAll(async () => {
  fl = await connect({ pools, waitForAgents: 1 });
}, 60_000);
afterAll(async () => {
  await fl?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('fl.call on an embedded controller', () => {
  it('gives each call its own value, many at once and one after another', async () => {
    const double = await fl.functions.register('call.double', (x: number) => x * 2);
    const xs = Array.from({ length: 300 }, (_, i) => i);
    expect(await Promise.all(xs.map((x) => fl.call(double, x)))).toEqual(xs.map((x) => x * 2));
    for (const x of [1, 2, 3]) expect(await fl.call<(x: number) => number>('call.double', x)).toBe(x * 2);
  });

  it("rejects with the task's own error, its remote stack naming the function", async () => {
    const h = await fl.functions.register('call.fails', function failsOnNegative(x: number) {
      if (x < 0) throw new RangeError(`negative: ${x}`);
      return x;
    });
    const err = await rejection(fl.call(h, -3));
    expect(err.code).toBe('TASK_ERROR');
    expect(err.message).toContain('negative: -3');
    expect(err.remoteName).toBe('RangeError');
    expect(err.stack).toContain('failsOnNegative');
  });

  it("a call that cannot run rejects with a stack that starts at the caller's line", async () => {
    const err = await rejection(fl.call('call.never-registered', 1));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.stack!.split('\n')[1]).toContain('call.test.ts');
    const bad = await rejection(fl.call('has space', 1));
    expect(bad.code).toBe('BAD_INPUT');
    expect(bad.stack!.split('\n')[1]).toContain('call.test.ts');
    const badOpts = await rejection(fl.call('call.double', 1, null as never));
    expect(badOpts.message).toContain('map options must be an object, got null');
    const misspelt = await rejection(fl.call('call.double', 1, { retry: 1 } as never));
    expect(misspelt.code).toBe('BAD_INPUT');
    expect(misspelt.message).toContain('retry');
  });

  it("retries a failed attempt as the function's retryIf says, and gives the value of the attempt that succeeded", async () => {
    const flaky = await fl.functions.register(
      'call.flaky',
      (x: number, ctx: { attempt: number }) => {
        if (ctx.attempt === 1) throw new Error('ECONNRESET on the first attempt');
        return `${x} on attempt ${ctx.attempt}`;
      },
      { retryIf: (e) => /ECONNRESET/.test(String(e)) },
    );
    expect(await fl.call(flaky, 7, { retries: 1 })).toBe('7 on attempt 2');
  });

  it('a call that outlives its timeoutMs rejects TIMEOUT', async () => {
    const slow = await fl.functions.register('call.slow', untilAborted);
    const err = await within(rejection(fl.call(slow, 1, { timeoutMs: 300, retries: 0 })), 30_000, 'the timed-out call');
    expect(err.code).toBe('TIMEOUT');
  });

  it("a call with a signal is cancelled by it, and the agent's slot is free for the next call", async () => {
    const slow = await fl.functions.register('call.slow-signal', untilAborted);
    const ac = new AbortController();
    const pending = rejection(fl.call(slow, 1, { signal: ac.signal }));
    ac.abort();
    expect((await within(pending, 30_000, 'the aborted call')).code).toBe('CANCELLED');
    expect(await within(fl.call<(x: number) => number>('call.double', 4), 30_000, 'a call after the cancelled one')).toBe(8);
  });

  it('a call in flight when its session closes rejects CLOSED at once', async () => {
    const own = await connect({ pools, waitForAgents: 1 });
    const slow = await own.functions.register('call.forever', untilAborted);
    // Awaited here: the error's stack comes from this function's await of the call.
    const pending = (async () => {
      try {
        return await own.call(slow, 1);
      } catch (err) {
        return err as FlotillaError;
      }
    })();
    await own.close();
    const err = (await within(pending, 10_000, 'the call of a closed session')) as FlotillaError;
    expect(err.code).toBe('CLOSED');
    expect(err.stack!.split('\n')[1]).toMatch(/at .*call\.test\.ts:\d+/);
  });

  it('a call in flight when a durable controller closes rejects CLOSED, saying its job is kept', async () => {
    const stateDir = tempDir('flotilla-call-state-');
    const own = await connect({ pools, waitForAgents: 1, controller: { stateDir, durable: true, requireToken: false } });
    try {
      const slow = await own.functions.register('call.kept', untilAborted);
      const pending = rejection(own.call(slow, 1));
      await own.controller!.close();
      const err = await within(pending, 10_000, 'the call of a closed controller');
      expect(err.code).toBe('CLOSED');
      expect(err.message).toContain('goes on when the controller starts again');
    } finally {
      await own.close();
    }
  });

  it('calls waiting at once are bounded, as the jobs a client follows are: one more is refused BAD_INPUT, and a slot frees as one settles', async () => {
    const own = await connect({ pools, waitForAgents: 1 });
    try {
      await own.functions.register('call.bounded', untilAborted);
      // The session's own path, with a bound of 2 instead of the 200,000 of a real one.
      const call = localCall(own.controller!, 2, closedInfo);
      const input = { fnName: 'call.bounded', args: [{ j: '1' }], total: 1 };
      const first = deferred<string>();
      const receiver = { result: () => first.resolve('result'), failed: (err: unknown) => first.resolve((err as FlotillaError).code) };
      const ignored = { result: () => {}, failed: () => {} };
      call(input, receiver);
      call(input, ignored);
      expect(() => call(input, ignored)).toThrow(/already waits for 2 calls, the most one client may/);
      const [oldest] = (await own.jobs()).filter((j) => j.state !== 'done');
      await own.cancel(oldest!.id);
      // Cancelled: its result (CANCELLED) is its outcome, and it no longer counts.
      expect(await within(first.promise, 10_000, 'the cancelled call')).toBe('result');
      expect(() => call(input, ignored)).not.toThrow();
    } finally {
      await own.close();
    }
  });

  it('a program that does not await its call still gets its value before it exits', async () => {
    const lib = pathToFileURL(join(import.meta.dirname, '../../dist/client/index.js')).href;
    const file = join(tempDir('flotilla-call-exit-'), 'call.mjs');
    writeFileSync(
      file,
      `import { connect } from '${lib}';
       const fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } } });
       const h = await fl.functions.register('later', async (x) => { await new Promise((r) => setTimeout(r, 200)); return x + 1; });
       fl.call(h, 41).then((v) => { console.log(v); return fl.close(); });\n`,
    );
    const r = await execa('node', [file], { reject: false, timeout: 60_000, env: { FLOTILLA_URL: '' } });
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toBe('42');
    expect(r.exitCode).toBe(0);
  });
});
