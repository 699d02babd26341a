/**
 * The grouped-by-subject flow of parade's vignette on the real Grid Engine of test/fixtures:
 * each unit (one subject's 4 rows, 2 at a time) runs in its own Grid Engine job, sized for it
 * (a parallel environment of 2 slots).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, paramGrid } from '../../client/index.js';
import { ourSgeJobs, sge } from '../fixtures/index.js';
import { until } from '../support/async.js';

beforeAll(async () => {
  await sge();
}, 300_000);

describe('a flow on a Grid Engine pool', () => {
  it('runs each subject unit in its own job with workersWithin slots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-flows-sge-'));
    // One unit per agent job (maxTasks 1), as parade users expect one job per unit.
    const fl = await connect({
      pools: { ghpc: { launcher: 'sge', min: 0, max: 3, slots: 1, maxTasks: 1, idleTimeout: '2s', resources: { pe: 'smp', slots: 2, h_rt: '10m' }, graceMs: 3000, pollSeconds: 1 } },
      controller: { flowCache: join(dir, 'flows.db') },
    });
    try {
      const grid = paramGrid({ subject: ['s01', 's02', 's03'], session: [1, 2], condition: ['A', 'B'] });
      const h = await fl
        .flow(grid)
        .stage('pre', ({ subject, session }) => ({ data: `${subject}-${session}`, job: `${process.env.JOB_ID}.${process.env.SGE_TASK_ID}`, slots: process.env.NSLOTS }))
        .stage('fit', ({ pre, condition }) => ({ score: pre.data.length + (condition === 'A' ? 0 : 100), job: `${process.env.JOB_ID}.${process.env.SGE_TASK_ID}` }), { needs: ['pre'] })
        .distribute({ by: ['subject'], workersWithin: 2, pool: 'ghpc' })
        .submit();
      const rows = await h.collect({ progress: false });
      expect(rows.map((r) => r.status)).toEqual(Array(12).fill('ok'));
      rows.forEach((r, i) => {
        const g = grid[i]!;
        expect(r.status === 'ok' && [r.pre.data, r.fit.score]).toEqual([`${g.subject}-${g.session}`, 5 + (g.condition === 'A' ? 0 : 100)]);
      });
      const jobOf = (s: string) => new Set(rows.filter((r) => r.subject === s).flatMap((r) => (r.status === 'ok' ? [r.pre.job, r.fit.job] : [])));
      const jobs = ['s01', 's02', 's03'].map(jobOf);
      for (const j of jobs) expect(j.size).toBe(1); // a unit runs in one job element...
      expect(new Set(jobs.map((j) => [...j][0])).size).toBe(3); // ...and each unit in its own
      expect(rows.every((r) => r.status === 'ok' && r.pre.slots === '2')).toBe(true);
      expect((await h.status()).plan).toMatchObject({ units: 3, rowsPerUnit: [4, 4, 4], pool: 'ghpc' });
    } finally {
      await fl.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await until(async () => (await ourSgeJobs('flotilla-ghpc')).length === 0, 30_000);
  }, 180_000);
});
