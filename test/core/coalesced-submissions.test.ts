import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { connect } from '../../client/index.js';
import { remoteClient } from '../../client/transport.js';
import { resolveToken, trpcSocketUrl } from '../../client/remote/reach.js';
import { Controller } from '../../server/controller.js';
import { MAX_FEEDS_PER_CLIENT } from '../../server/result-feed.js';

// A session's maps of one event-loop turn travel as one submission, and the results of all its
// jobs come on one stream.
let dir: string;
let ctl: Controller;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-coalesce-'));
  ctl = await Controller.start({ port: 0, stateDir: dir, pools: { local: { launcher: 'local', agents: 2, slots: 1 } } });
  await ctl.waitForLanes(2, { timeoutMs: 60_000 });
}, 90_000);
afterAll(async () => {
  await ctl?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Counts the tRPC calls this process sends over WebSocket, by procedure path. */
function countCalls(): { calls: Map<string, number>; stop(): void } {
  const calls = new Map<string, number>();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
    if (typeof data === 'string' && data.includes('"path"')) {
      for (const m of [JSON.parse(data)].flat() as { params?: { path?: string } }[]) {
        const path = m.params?.path;
        if (path) calls.set(path, (calls.get(path) ?? 0) + 1);
      }
    }
    return (send as (...a: unknown[]) => void).call(this, data, ...rest);
  } as typeof send;
  return { calls, stop: () => void (WebSocket.prototype.send = send) };
}

describe('coalesced submissions', () => {
  it('maps issued in one turn travel as one session.submit and their results come on one stream', async () => {
    const fl = await connect({ url: ctl.url, tokenFile: ctl.tokenFile });
    const spy = countCalls();
    try {
      const out = await Promise.all(Array.from({ length: 50 }, (_, i) => fl.map([i, i + 1], (x: number) => x * 3)));
      expect(out).toEqual(Array.from({ length: 50 }, (_, i) => [i * 3, (i + 1) * 3]));
      expect(Object.fromEntries(spy.calls)).toEqual({ 'session.submit': 1, 'session.results': 1 });
    } finally {
      spy.stop();
      await fl.close();
    }
  }, 120_000);

  it('a bad map of a coalesced submission fails alone, with its own error pointing at its call', async () => {
    const fl = await connect({ url: ctl.url, tokenFile: ctl.tokenFile });
    try {
      const good = [fl.map([1], (x: number) => x + 1), fl.map([2], (x: number) => x + 1)];
      const bad = fl.map([3], (x: number) => x + 1, { pool: 'nowhere' });
      const more = fl.map([4], (x: number) => x + 1);
      const err = await bad.then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err?.code).toBe('BAD_INPUT');
      expect(err?.message).toMatch(/no pool named "nowhere"/);
      expect(err?.stack).toMatch(/coalesced-submissions\.test\.ts/);
      expect(await Promise.all([...good, more])).toEqual([[2], [3], [5]]);
    } finally {
      await fl.close();
    }
  }, 120_000);

  it('an embedded session runs maps of one turn and a later attach on its one stream', async () => {
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1 } } });
    try {
      const out = await Promise.all(Array.from({ length: 20 }, (_, i) => fl.map([i], (x: number) => -x)));
      expect(out).toEqual(Array.from({ length: 20 }, (_, i) => [-i]));
      const id = await fl.submit([1, 2, 3], (x: number) => x * 10);
      expect(await fl.attach<number>(id)).toEqual([10, 20, 30]);
    } finally {
      await fl.close();
    }
  }, 120_000);

  it(`caps a client's result streams at ${MAX_FEEDS_PER_CLIENT}, and the error says so`, async () => {
    const { trpc, close } = remoteClient(trpcSocketUrl(new URL(ctl.url)), resolveToken({ tokenFile: ctl.tokenFile }));
    const subs: { unsubscribe(): void }[] = [];
    try {
      const errors: Error[] = [];
      let started = 0;
      const over = new Promise<Error>((resolve) => {
        for (let i = 0; i <= MAX_FEEDS_PER_CLIENT; i++) {
          subs.push(trpc.session.results.subscribe({ stream: `cap-${i}` }, { onStarted: () => void started++, onError: (e) => (errors.push(e), resolve(e)) }));
        }
      });
      const err = await over;
      expect(err.message).toMatch(new RegExp(`already has ${MAX_FEEDS_PER_CLIENT} result streams`));
      expect(errors).toHaveLength(1);
    } finally {
      for (const s of subs) s.unsubscribe();
      await close();
    }
  }, 60_000);
});
