import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { statSync } from 'node:fs';
import { connect } from '../../client/index.js';
import { remoteClient } from '../../client/transport.js';
import { Controller } from '../../server/controller.js';
import { rejection } from '../support/async.js';
import { CLI as cli, startCliController } from '../support/cli-controller.js';
import { Reaper } from '../support/reaper.js';
import { expectAttachedTwice } from '../support/attach-twice.js';

const files = Reaper.afterAll();
let dir: string;
let url: string;
let tokenFile: string;

beforeAll(async () => {
  ({ stateDir: dir, url, tokenFile } = await startCliController(files, ['--agents', '2']));
});

describe('a standalone controller shared by several programs', () => {
  it('prints where it listens and keeps its token in a 0600 file', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('runs maps from two clients, and one can follow the job of the other', async () => {
    const a = await connect({ url, tokenFile });
    const b = await connect({ url, tokenFile });
    try {
      const job = a.map([1, 2, 3, 4], async (x) => {
        await new Promise((r) => setTimeout(r, 30));
        return x + 100;
      });
      const followed = b.attach<number>(await job.id);
      expect(await followed).toEqual([101, 102, 103, 104]);
      expect(await job).toEqual([101, 102, 103, 104]);
      expect(await b.map(['x'], (s) => s.toUpperCase())).toEqual(['X']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a map attached to twice by its own remote session gives all three handles every result', async () => {
    const fl = await connect({ url, tokenFile });
    try {
      await expectAttachedTwice(fl);
    } finally {
      await fl.close();
    }
  }, 60_000);

  it('carries binary parts and rich values both ways intact, next to failures, in order', async () => {
    // Arguments and results travel packed (contract/packed.ts): one string plus one binary blob.
    const fl = await connect({ url, tokenFile });
    try {
      const items = [
        { buf: Buffer.from('héllo'), f: new Float64Array([1.5, -0, NaN]) },
        { d: new Date(86_400_000), m: new Map<unknown, unknown>([[1n, undefined], ['k', new Set([2])]]), u: undefined },
        new Uint16Array([1, 65535]),
        'plain',
        { fail: true },
        { bytes: new Uint8Array(new ArrayBuffer(10), 3, 4).fill(7), ab: new Uint8Array([1, 2, 3]).buffer, big: -(2n ** 70n) },
      ];
      const outcomes = await fl.map(items, (x: unknown) => {
        if (x && typeof x === 'object' && 'fail' in x) throw new RangeError('asked to fail');
        return { echo: x, seen: x instanceof Uint16Array ? x.reduce((a, b) => a + b, 0) : null };
      }).outcomes();
      expect(outcomes.map((o) => o.index)).toEqual([0, 1, 2, 3, 4, 5]);
      const failed = outcomes[4]!;
      expect(failed.ok).toBe(false);
      if (!failed.ok) expect(failed.error.message).toMatch(/asked to fail/);
      const values = outcomes.filter((o) => o.ok).map((o) => (o.ok ? (o.value as { echo: unknown; seen: unknown }) : undefined)!);
      expect(values.map((v) => v.echo)).toEqual([items[0], items[1], items[2], 'plain', items[5]]);
      const [first, second, third, , last] = values.map((v) => v.echo) as [any, any, any, unknown, any];
      expect(Buffer.isBuffer(first.buf) && first.buf.toString()).toBe('héllo');
      expect(first.f).toBeInstanceOf(Float64Array);
      expect(Object.is(first.f[1], -0) && Number.isNaN(first.f[2])).toBe(true);
      expect(second.d).toEqual(new Date(86_400_000));
      expect('u' in second && second.u === undefined && second.m.has(1n) && second.m.get(1n) === undefined).toBe(true);
      expect(third).toBeInstanceOf(Uint16Array);
      expect(values[2]!.seen).toBe(65536);
      expect([...last.bytes]).toEqual([7, 7, 7, 7]);
      expect(last.ab).toBeInstanceOf(ArrayBuffer);
      expect(last.big).toBe(-(2n ** 70n));
    } finally {
      await fl.close();
    }
  });

  it('resumes a result stream after the last result seen', async () => {
    const fl = await connect({ url, tokenFile });
    const { trpc, close } = remoteClient(url.replace('http', 'ws') + '/trpc', (await import('node:fs')).readFileSync(tokenFile, 'utf8').trim());
    try {
      const job = fl.map([0, 1, 2, 3, 4, 5], (x) => x);
      await job;
      const id = await job.id;
      const seen: number[] = [];
      await new Promise<void>((resolve, reject) => {
        const sub = trpc.jobs.results.subscribe({ jobId: id, lastEventId: '4' }, {
          onData: (ev) => {
            seen.push(...ev.data.results.map((r) => r.index));
            if (ev.data.seq >= ev.data.total) (sub.unsubscribe(), resolve());
          },
          onError: reject,
        });
      });
      expect(seen.length).toBe(2); // offsets 4 and 5 of the completion log
      const all = await fl.attach(id).outcomes();
      expect(all.map((o) => o.index)).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await close();
      await fl.close();
    }
  });

  it('refuses a client with a wrong or missing token, clearly', async () => {
    const err = await rejection(connect({ url, token: 'wrong' }));
    expect(err?.code).toBe('UNAUTHORIZED');
    expect(err?.message).toMatch(/refused the token/);
    const res = await fetch(`${url}/trpc/agents.list`);
    expect(res.status).toBe(401);
    const ok = await fetch(`${url}/trpc/health`);
    expect(ok.status).toBe(200);
  });

  it('answers the CLI: jobs, status, collect, agents', async () => {
    const fl = await connect({ url, tokenFile });
    const job = fl.map([3, 1, 2], (x) => ({ x, big: BigInt(x) }));
    await job;
    const id = await job.id;
    await fl.close();
    const opts = ['--url', url, '--token-file', tokenFile];
    const status = await execa('node', [cli, 'status', id, ...opts]);
    expect(status.stdout).toMatch(new RegExp(`${id}\\s+done\\s+pool local\\s+3/3 done, 0 failed`));
    const collect = await execa('node', [cli, 'collect', id, ...opts]);
    expect(collect.stdout.split('\n').map((l) => JSON.parse(l))).toEqual([
      { index: 0, ok: true, value: { x: 3, big: '3' }, attempt: 1, agentId: expect.stringMatching(/^local-/), host: expect.any(String) },
      { index: 1, ok: true, value: { x: 1, big: '1' }, attempt: 1, agentId: expect.stringMatching(/^local-/), host: expect.any(String) },
      { index: 2, ok: true, value: { x: 2, big: '2' }, attempt: 1, agentId: expect.stringMatching(/^local-/), host: expect.any(String) },
    ]);
    const agents = await execa('node', [cli, 'agents', ...opts]);
    expect(agents.stdout).toMatch(/pool local \(local\): 2\/2 agents/);
    const bad = await execa('node', [cli, 'status', 'j-nope', ...opts], { reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/no job j-nope/);
  });
});

describe('listening address', () => {
  it('refuses to listen beyond loopback without a token', async () => {
    const err = await rejection(Controller.start({ host: '0.0.0.0', requireToken: false }));
    expect(err?.code).toBe('BAD_INPUT');
    expect(err?.message).toMatch(/refusing to listen on 0\.0\.0\.0 without a token/);
  });
});
