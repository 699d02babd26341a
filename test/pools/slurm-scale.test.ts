/**
 * A SLURM pool that scales: min 0, so nothing is queued until work comes; the backlog submits
 * jobs (one array), idle agents are retired (their jobs cancelled), and none of ours is left in
 * the queue. Against the real single-node SLURM of test/fixtures.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { ourSlurmJobs, slurm } from '../fixtures/index.js';
import { until } from '../support/async.js';
import { sampler } from './helpers.js';

beforeAll(async () => {
  await slurm();
}, 180_000);


describe('SLURM pool autoscaling', () => {
  it('scales from zero on backlog and back to zero when idle', async () => {
    const logs: string[] = [];
    const fl = await connect({
      pools: { elastic: { launcher: 'slurm', min: 0, max: 2, slots: 1, idleTimeout: '2s', resources: { partition: 'debug', time: '10m' }, graceMs: 3000, pollSeconds: 1 } },
      controller: { log: (l) => logs.push(l) },
    });
    const pool = fl.controller!.pools.get('elastic')!;
    const s = sampler(pool, 50);
    try {
      expect(pool.status()).toMatchObject({ agents: 0, min: 0, max: 2 });
      expect(await ourSlurmJobs('flotilla-elastic')).toEqual([]);

      const out = await fl.map(Array.from({ length: 12 }, (_, i) => i), async (x: number) => {
        await new Promise((r) => setTimeout(r, 300));
        return { x, job: process.env.SLURM_JOB_ID };
      }, { pool: 'elastic' });
      expect(out.map((o) => o.x)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(Math.max(...s.samples.map((x) => x.agents))).toBe(2); // the backlog asked for more than max
      expect(new Set(out.map((o) => o.job)).size).toBeLessThanOrEqual(2);
      expect((await ourSlurmJobs('flotilla-elastic')).length).toBeGreaterThan(0); // still there, idle
      expect(logs.filter((l) => /slurm: submitted array/.test(l)).length).toBe(1); // launched together: one array

      await s.until((x) => x.agents === 0, 15_000, 'idle SLURM agents retired');
      expect(logs.filter((l) => /retiring agent elastic-\w+: idle for 2000 ms/.test(l)).length).toBe(2);
      await until(async () => (await ourSlurmJobs('flotilla-elastic')).length === 0, 15_000);
      expect(pool.failure).toBeUndefined();
    } finally {
      s.stop();
      await fl.close();
    }
    await until(async () => (await ourSlurmJobs('flotilla-elastic')).length === 0, 15_000);
  }, 60_000);
});
