/**
 * An embedded session's maps get their results straight from their jobs (client/local-mux.ts),
 * with no result stream between: each map's id still finds its job for attach, status and
 * cancel, and a closing controller leaves no handle waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/session.js';
import { deferred, rejection, within } from '../support/async.js';
import { LocalMux } from '../../client/local-mux.js';
import { shipFunction } from '../../client/ship.js';
import { encodeValue } from '../../contract/codec.js';
import { FlotillaError } from '../../contract/errors.js';
import { closedInfo } from '../../server/result-feed.js';
import { BATCH } from '../../server/result-stream.js';
import { expectAttachedTwice } from '../support/attach-twice.js';

/** A task that does not finish until cancelled (or its agent stops). */
const forever = () => new Promise<never>(() => {});

describe('an embedded session’s results', () => {
  let fl: Session;
  beforeAll(async () => {
    fl = await connect({ pools: { local: { launcher: 'local', agents: 2, slots: 1 } }, waitForAgents: 2 });
  }, 90_000);
  afterAll(async () => {
    await fl?.close();
  });

  it('a map attached to twice by its own session gives all three handles every result', async () => {
    await expectAttachedTwice(fl);
  }, 60_000);

  it('each of many single-task maps issued at once is its own job: its id gives its status and its result on attach', async () => {
    const jobs = Array.from({ length: 200 }, (_, i) => fl.map([i], (x: number) => x * 3));
    const values = await Promise.all(jobs);
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => [i * 3]));
    const ids = await Promise.all(jobs.map((j) => j.id));
    expect(new Set(ids).size).toBe(200);
    const status = await fl.status(ids[7]!);
    expect(status).toMatchObject({ id: ids[7], total: 1, done: 1 });
    expect(await fl.attach<number>(ids[7]!)).toEqual([21]);
  }, 60_000);

  it('one of many single-task maps cancelled by its id rejects with CANCELLED, and the others finish', async () => {
    const stuck = fl.map([0], forever);
    const others = Array.from({ length: 50 }, (_, i) => fl.map([i], (x: number) => x + 1));
    await fl.cancel(await stuck.id);
    const err = await within(rejection(stuck), 30_000, 'the cancelled map');
    expect(err.code).toBe('CANCELLED');
    expect(await Promise.all(others)).toEqual(Array.from({ length: 50 }, (_, i) => [i + 1]));
  }, 60_000);

  it('a session at its bound of followed jobs refuses the next map before submitting it, and takes maps again once some finished', async () => {
    const mux = new LocalMux(fl.controller!.plane, { batch: BATCH, closed: closedInfo, maxFollowed: 2 });
    const jobsBefore = [...fl.controller!.plane.jobs()].length;
    const outcome = (tag: string) => {
      const d = deferred<string>();
      return { d, to: { started: () => {}, refused: (err: unknown) => d.resolve(`${tag} refused: ${(err as Error).message}`), onBatch: (b: { seq: number; total: number }) => b.seq >= b.total && d.resolve(`${tag} done`), onError: (err: unknown) => d.resolve(`${tag} failed: ${String(err)}`) } };
    };
    const input = (x: number) => ({ fn: shipFunction((v: number) => v), args: [encodeValue(x)], total: 1 });
    const [a, b, c] = [outcome('a'), outcome('b'), outcome('c')];
    mux.submit(input(1), a.to);
    mux.submit(input(2), b.to);
    mux.submit(input(3), c.to);
    expect(await within(c.d.promise, 10_000, 'the third map')).toMatch(/^c refused: this session already follows 2 jobs, the most one client may \(await some/);
    expect(await within(Promise.all([a.d.promise, b.d.promise]), 30_000, 'the first two maps')).toEqual(['a done', 'b done']);
    expect([...fl.controller!.plane.jobs()].length).toBe(jobsBefore + 2); // the refused one was never submitted
    const d = outcome('d');
    mux.submit(input(4), d.to);
    expect(await within(d.d.promise, 30_000, 'a map after the others finished')).toBe('d done');
    mux.close(new FlotillaError('CLOSED', 'done'));
  }, 60_000);

  it('attaching to an id the controller does not know rejects with NOT_FOUND', async () => {
    expect((await within(rejection(fl.attach('j-nosuchjob')), 10_000, 'attach of an unknown id')).code).toBe('NOT_FOUND');
  });
});

describe('an embedded controller closing', () => {
  it('ends a durable map that cannot finish with CLOSED, saying the job is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-embedded-close-'));
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } }, waitForAgents: 1, controller: { stateDir: dir, durable: true, log: () => {} } });
    try {
      const job = fl.map([1], forever);
      await job.id;
      await fl.controller!.close();
      const err = await within(rejection(job), 10_000, 'the map after the controller closed');
      expect(err.code).toBe('CLOSED');
      expect(err.message).toMatch(/it is kept, and goes on when the controller starts again/);
    } finally {
      await fl.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('ends a map of a controller without a store with CLOSED', async () => {
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } }, waitForAgents: 1, controller: { log: () => {} } });
    try {
      const job = fl.map([1], forever);
      await job.id;
      await fl.controller!.close();
      expect((await within(rejection(job), 10_000, 'the map after the controller closed')).code).toBe('CLOSED');
    } finally {
      await fl.close();
    }
  }, 60_000);
});
