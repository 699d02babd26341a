/**
 * What a durable controller (the CLI, its own process, a state folder in a tmp folder) must
 * survive on its data path: a cancel of a very large job, a client that dies mid-submit, a job
 * that declares more tasks than a job may have, and a task whose value nests too deep. It keeps
 * serving; the cancel outlives a SIGKILL; and it starts again on whatever state folder such a
 * job left behind, an older controller's included.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { remoteClient } from '../../client/transport.js';
import { shipFunction } from '../../client/ship.js';
import { encodeValue } from '../../contract/codec.js';
import { packedArgs } from '../../contract/packed.js';
import { JobStore } from '../../server/store/job-store.js';
import { Reaper, ROOT, startProcess, tempDir, within } from '../lifecycle/helpers.js';
import { rejection, until } from '../support/async.js';
import { freePort } from '../support/ports.js';
import { healthy } from '../support/health.js';
import { readFileSync } from 'node:fs';

const CLI = join(ROOT, 'dist', 'server', 'cli.js');

/** A CLI controller on one port and state folder, which the test can SIGKILL and start again. */
async function durableController(reaper: Reaper) {
  const state = join(tempDir(reaper), 'state');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const tokenFile = join(state, 'token');
  const start = async () => {
    const p = startProcess(reaper, process.execPath, [CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '1']);
    let died = '';
    void p.exited.then((e) => (died = `the controller exited (${e.code ?? e.signal}): ${p.stderr().slice(-2000)}`));
    await until(async () => {
      if (died) throw new Error(died);
      return healthy(url);
    }, 30_000);
    return { ...p, died: () => died };
  };
  const kill = async (p: Awaited<ReturnType<typeof start>>) => {
    p.child.kill('SIGKILL');
    await within(p.exited, 10_000, 'the killed controller');
  };
  return { state, url, wsUrl: `ws://127.0.0.1:${port}/trpc`, tokenFile, start, kill, token: () => readFileSync(tokenFile, 'utf8').trim() };
}

/** A task that waits for its cancel (or a minute), so a job's tasks stay queued or running. */
const waitForCancel = (x: number, ctx: { signal: AbortSignal }) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, 60_000, x);
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve(x);
    });
  });

describe('a durable controller on its data path', () => {
  it('a legitimate cancel of a 300,000-task durable job does not kill the controller, and the job is still cancelled after a restart', async () => {
    const reaper = new Reaper();
    const c = await durableController(reaper);
    const first = await c.start();
    const fl = await connect({ url: c.url, tokenFile: c.tokenFile });
    reaper.add(() => fl.close());
    const n = 300_000;
    const jobId = await fl.submit(Array.from({ length: n }, (_, i) => i), waitForCancel);
    await until(async () => (await fl.status(jobId)).running >= 1, 20_000);

    const { cancelled } = await within(fl.cancel(jobId), 30_000, 'the cancel');
    expect(cancelled).toBe(n);
    const after = await fl.status(jobId);
    expect(after).toMatchObject({ state: 'cancelled', done: n, failed: n, running: 0, queued: 0 });
    expect(first.died()).toBe('');
    await fl.close();

    // SIGKILL, then start again on the same folder: the cancel holds, nothing runs again.
    await c.kill(first);
    const second = await c.start();
    const fl2 = await connect({ url: c.url, tokenFile: c.tokenFile });
    reaper.add(() => fl2.close());
    expect(await fl2.status(jobId)).toMatchObject({ state: 'cancelled', done: n, failed: n, running: 0, queued: 0 });
    // The results stream replays the cancel, one outcome per task: its first batch shows it.
    const raw = remoteClient(c.wsUrl, c.token());
    reaper.add(() => raw.close());
    const batch = await within(
      new Promise<{ seq: number; results: { ok: boolean; error?: { code: string } }[] }>((resolve, reject) => {
        const sub = raw.trpc.jobs.results.subscribe({ jobId }, { onData: (ev) => (sub.unsubscribe(), resolve(ev.data)), onError: reject });
      }),
      20_000,
      'the first results batch',
    );
    expect(batch.results.length).toBeGreaterThan(0);
    expect(batch.results.every((r) => !r.ok && r.error?.code === 'CANCELLED')).toBe(true);
    expect(await within(fl2.map([1, 2, 3], (x: number) => x * 2), 20_000, 'a map after the restart')).toEqual([2, 4, 6]);
    expect(second.died()).toBe('');
  }, 180_000);

  it('a client dying mid-submit of a 1,000,000-item map, or a job declaring 10,000,000 tasks, leaves a state folder the controller starts on and serves from', async () => {
    const reaper = new Reaper();
    const c = await durableController(reaper);
    const first = await c.start();
    const spec = shipFunction((x: number) => x + 1);
    const first1000 = packedArgs(Array.from({ length: 1000 }, (_, i) => encodeValue(i)));
    const watcher = await connect({ url: c.url, tokenFile: c.tokenFile });
    reaper.add(() => watcher.close());

    // A client sends the first 1,000 of 1,000,000 arguments and dies: the rest fail, nothing else.
    const dying = remoteClient(c.wsUrl, c.token());
    const { jobId: cut } = await dying.trpc.map.submit.mutate({ fn: spec, args: first1000, total: 1_000_000 });
    await dying.close();
    await until(async () => (await watcher.status(cut)).state === 'done', 60_000);
    expect(await watcher.status(cut)).toMatchObject({ total: 1_000_000, done: 1_000_000, failed: 999_000 });

    // A declared count past what a job may have is refused, with the reason.
    const huge = remoteClient(c.wsUrl, c.token());
    reaper.add(() => huge.close());
    const refused = await rejection(huge.trpc.map.submit.mutate({ fn: spec, args: first1000, total: 10_000_000 }));
    expect(refused.message).toMatch(/total/);
    expect((await watcher.jobs()).length).toBe(1);

    // The controller dies while a client is mid-submit: the state folder holds an unsealed job.
    const { jobId: unsealed } = await huge.trpc.map.submit.mutate({ fn: spec, args: first1000, total: 1_000_000 });
    await watcher.close();
    await c.kill(first);
    await huge.close();
    // And the state folder also holds what an older controller accepted: a job declaring 10,000,000.
    const store = new JobStore(c.state);
    store.createJob({ id: 'j-older', pool: 'local', total: 10_000_000, createdAt: Date.now(), spec: { fn: spec, retries: 2, crashLimit: 3, timeoutMs: 0 } });
    store.appendArgs('j-older', 0, [encodeValue(10), encodeValue(20), encodeValue(30)]);
    store.close();

    const second = await c.start();
    const fl = await connect({ url: c.url, tokenFile: c.tokenFile });
    reaper.add(() => fl.close());
    expect(await within(fl.map([1, 2, 3], (x: number) => x * 2), 30_000, 'a map after the restart')).toEqual([2, 4, 6]);
    await until(async () => (await fl.status(unsealed)).state === 'done', 60_000);
    expect(await fl.status(unsealed)).toMatchObject({ total: 1_000_000, done: 1_000_000, failed: 999_000 });
    expect(await within(fl.attach<number>('j-older'), 20_000, 'the older job')).toEqual([11, 21, 31]);
    expect(await fl.status(cut)).toMatchObject({ state: 'done', done: 1_000_000 });
    expect(second.died()).toBe('');
  }, 240_000);

  it('a task returning a value nested 5,000 deep fails alone, and the durable controller goes on and starts again', async () => {
    const reaper = new Reaper();
    const c = await durableController(reaper);
    const first = await c.start();
    const fl = await connect({ url: c.url, tokenFile: c.tokenFile });
    reaper.add(() => fl.close());
    const out = await within(
      fl.map([5_000, 3], (depth: number) => {
        let v: unknown = depth;
        for (let i = 0; i < depth; i++) v = { a: v };
        return v;
      }).outcomes(),
      30_000,
      'the deep map',
    );
    expect(out[0]!.ok).toBe(false);
    if (!out[0]!.ok) {
      expect(out[0]!.error.code).toBe('TASK_ERROR');
      expect(out[0]!.error.message).toMatch(/nested more than \d+ levels/);
    }
    expect(out[1]).toMatchObject({ ok: true, value: { a: { a: { a: 3 } } } });
    expect(await fl.map([4], (x: number) => x * x)).toEqual([16]);
    await fl.close();
    await c.kill(first);
    const second = await c.start();
    const fl2 = await connect({ url: c.url, tokenFile: c.tokenFile });
    reaper.add(() => fl2.close());
    expect(await within(fl2.map([5], (x: number) => x * x), 20_000, 'a map after the restart')).toEqual([25]);
    expect(second.died()).toBe('');
  }, 120_000);
});
