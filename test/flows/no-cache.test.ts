/**
 * `cache: false`, per stage and per flow: a stage that is not deterministic (random, time,
 * outside data) runs again on every submit, and so does every stage that needs it, while the
 * other stages still come from the cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, flow } from '../../client/index.js';
import type { Session } from '../../client/index.js';

let fl: Session;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-nocache-'));
  fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } }, controller: { flowCache: join(dir, 'flows.db') } });
});
afterAll(async () => {
  await fl?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A flow whose `draw` stage is random, `fixed` deterministic, `after` needs draw. */
function build(grid: { i: number }[], drawCache?: boolean, flowCache?: boolean) {
  return flow(grid, { session: fl, ...(flowCache === undefined ? {} : { cache: flowCache }) })
    .stage('fixed', ({ i }) => i * 10)
    .stage('draw', ({ i }) => i + Math.random(), drawCache === undefined ? {} : { cache: drawCache })
    .stage('after', ({ draw }) => draw * 2, { needs: ['draw'] });
}

describe('cache: false', () => {
  const grid = [{ i: 1 }, { i: 2 }, { i: 3 }];

  it('a stage with cache: false runs again on resubmit, with the stages that need it; others come from the cache', async () => {
    const first = await build(grid, false).collect({ progress: false });
    const again = await build(grid, false).collect({ progress: false });
    expect(again.every((r) => r.status === 'ok')).toBe(true);
    expect(again.map((r) => r.fixed)).toEqual([10, 20, 30]);
    // Fresh draws, and `after` follows them rather than an old cached value.
    expect(again.map((r) => r.draw)).not.toEqual(first.map((r) => r.draw));
    again.forEach((r) => r.status === 'ok' && expect(r.after).toBe(r.draw * 2));
    expect(again.some((r) => r.cached)).toBe(false);
    const h = await build(grid, false).submit();
    await h.collect({ progress: false });
    const s = await h.status();
    expect(s.plan.cachedRows).toBe(0);
    expect(s.stages.map((p) => [p.name, p.cached])).toEqual([['fixed', 3], ['draw', 0], ['after', 0]]);
  });

  it('without cache: false the same random stage is answered from the cache', async () => {
    const grid2 = [{ i: 11 }, { i: 12 }];
    const first = await build(grid2).collect({ progress: false });
    const again = await build(grid2).collect({ progress: false });
    expect(again.map((r) => r.draw)).toEqual(first.map((r) => r.draw));
    expect(again.every((r) => r.cached)).toBe(true);
  });

  it('flow(grid, { cache: false }) runs every stage of every row, and stores nothing', async () => {
    const grid3 = [{ i: 21 }, { i: 22 }];
    const first = await build(grid3, undefined, false).collect({ progress: false });
    const again = await build(grid3, undefined, false).collect({ progress: false });
    expect(again.map((r) => r.draw)).not.toEqual(first.map((r) => r.draw));
    expect(again.some((r) => r.cached)).toBe(false);
    // Nothing of those runs was stored: a cached run now computes afresh too.
    const cachedRun = await build(grid3).collect({ progress: false });
    expect(cachedRun.some((r) => r.cached)).toBe(false);
  });

  it('cache must be a boolean, and flow() names unknown options', () => {
    expect(() => flow(grid, { session: fl }).stage('x', ({ i }) => i, { cache: 'no' as never })).toThrow(/stage "x": cache must be true or false, got "no"/);
    expect(() => flow(grid, { session: fl, cahce: false } as never)).toThrow(/flow\(\): unknown option\(s\) cahce/);
  });
});
