/**
 * Regressions found in review of the flows code, each test named after what it guards: watch
 * listeners that outlived their subscription, the grid held in several copies on the
 * controller, unit failures whose row errors named neither row nor stage, empty and fully
 * cached flows.
 */
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, paramGrid } from '../../client/index.js';
import type { Session } from '../../client/index.js';

let fl: Session;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-flow-review-'));
  fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } }, controller: { flowCache: join(dir, 'flows.db') }, waitForAgents: 1 });
}, 60_000);
afterAll(async () => {
  await fl?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('flows: review regressions', () => {
  it('progress watches remove their listeners from the controller closing signal when they end', async () => {
    const closing = fl.controller!.closingSignal;
    const before = getEventListeners(closing, 'abort').length;
    for (let k = 0; k < 5; k++) {
      const rows = await fl.flow([{ k }, { k: k + 10 }]).stage('twice', ({ k }) => 2 * k).collect({ progress: false });
      expect(rows.map((r) => r.twice)).toEqual([2 * k, 2 * (k + 10)]);
    }
    expect(getEventListeners(closing, 'abort').length).toBe(before);
  }, 60_000);

  it('the controller holds a submitted grid once: the run keeps decoded rows, not also the encoded grid', async () => {
    const grid = paramGrid({ a: [1, 2, 3], b: ['x', 'y'] });
    const h = await fl.flow(grid).stage('ab', ({ a, b }) => `${a}${b}`).submit();
    const run = fl.controller!.flows.get(h.id);
    expect('grid' in run.record).toBe(false);
    expect(run.params).toEqual(grid);
    expect((await h.collect({ progress: false })).map((r) => r.ab)).toEqual(grid.map((g) => `${g.a}${g.b}`));
  }, 60_000);

  it('rows of a unit that fails as a whole (its timeout) name their row and stage; later stages are skipped', async () => {
    const rows = await fl
      .flow([{ i: 0 }, { i: 1 }])
      .stage('slow', ({ i }, ctx) => new Promise((resolve) => { const t = setTimeout(() => resolve(i), 30_000); ctx.signal.addEventListener('abort', () => clearTimeout(t)); }))
      .stage('after', ({ slow }) => slow, { needs: ['slow'] })
      .distribute({ chunksPerJob: 2, timeoutMs: 300, retries: 0 })
      .collect({ progress: false });
    rows.forEach((r) => {
      expect(r.status).toBe('failed');
      expect(r.error).toMatchObject({ stage: 'slow', code: 'TIMEOUT', context: { row: r.i, stage: 'slow' } });
      expect(r.error!.message).toMatch(new RegExp(`^row ${r.i}, stage "slow" \\(unit 0\\): `));
    });
  }, 60_000);

  it('an empty grid collects no rows and submits no units job', async () => {
    const h = await fl.flow([] as { a: number }[]).stage('sq', ({ a }) => a * a).submit();
    expect(await h.collect({ progress: false })).toEqual([]);
    expect(await h.status()).toMatchObject({ state: 'done', rows: 0, jobId: undefined, plan: { units: 0 } });
  }, 60_000);

  it('a fully cached flow answers from the cache without a units job', async () => {
    const f = fl.flow(paramGrid({ n: [1, 2, 3, 4] })).stage('cube', ({ n }) => n ** 3);
    expect((await f.collect({ progress: false })).map((r) => r.cube)).toEqual([1, 8, 27, 64]);
    const h = await f.submit();
    const rows = await h.collect({ progress: false });
    expect(rows.map((r) => [r.cube, r.status, r.cached])).toEqual([1, 8, 27, 64].map((c) => [c, 'ok', true]));
    expect(await h.status()).toMatchObject({ state: 'done', jobId: undefined, plan: { units: 0, cachedRows: 4 } });
  }, 60_000);
});
