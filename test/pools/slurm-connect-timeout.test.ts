/**
 * connectTimeout on a SLURM pool counts from when the job is seen running, not from submission:
 * a job held in the queue (here by `--begin`) well past the timeout still connects and works.
 * Against the real single-node SLURM of test/fixtures.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { slurm } from '../fixtures/index.js';
import { sampler } from './helpers.js';

beforeAll(async () => {
  await slurm();
}, 180_000);

describe('connectTimeout on a SLURM pool', () => {
  it('does not count the time a job waits in the queue', async () => {
    const logs: string[] = [];
    const connectTimeout = 3_000;
    const held = 8; // seconds the job waits before it may start: more than the timeout
    const fl = await connect({
      pools: { held: { launcher: 'slurm', agents: 1, slots: 1, connectTimeout, pollSeconds: 1, graceMs: 3000, resources: { partition: 'debug', time: '10m', extra: [`--begin=now+${held}`] } } },
      controller: { log: (l) => logs.push(l) },
    });
    const pool = fl.controller!.pools.get('held')!;
    const s = sampler(pool, 100);
    try {
      const t0 = Date.now();
      const out = await fl.map([1, 2, 3], (x: number) => ({ x, job: process.env.SLURM_JOB_ID }), { pool: 'held' });
      expect(out.map((o) => o.x)).toEqual([1, 2, 3]);
      expect(out.every((o) => typeof o.job === 'string')).toBe(true);
      expect(Date.now() - t0).toBeGreaterThan(connectTimeout); // it did wait in the queue past the timeout
      expect(logs.filter((l) => /connectTimeout/.test(l))).toEqual([]);
      expect(pool.status()).toMatchObject({ agents: 1, running: 1, failure: undefined });
    } finally {
      s.stop();
      await fl.close();
    }
  }, 90_000);
});
