/**
 * The grouped-by-subject flow of parade's SLURM vignette on the real SLURM of test/fixtures: each
 * unit (one subject's 4 rows, 2 at a time) runs in its own SLURM job, sized for it (2 CPUs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, paramGrid } from '../../client/index.js';
import { ourSlurmJobs, slurm } from '../fixtures/index.js';
import { until } from '../support/async.js';

beforeAll(async () => {
  await slurm();
}, 180_000);


describe('a flow on a SLURM pool', () => {
  it('runs each subject unit in its own SLURM job with workersWithin CPUs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-flows-slurm-'));
    // One unit per agent job (maxTasks 1), as parade users expect one job per unit.
    const fl = await connect({
      pools: { hpc: { launcher: 'slurm', min: 0, max: 3, slots: 1, maxTasks: 1, idleTimeout: '2s', resources: { partition: 'debug', time: '10m', cpusPerTask: 2 }, graceMs: 3000, pollSeconds: 1 } },
      controller: { flowCache: join(dir, 'flows.db') },
    });
    try {
      const grid = paramGrid({ subject: ['s01', 's02', 's03'], session: [1, 2], condition: ['A', 'B'] });
      const h = await fl
        .flow(grid)
        .stage('pre', ({ subject, session }) => ({ data: `${subject}-${session}`, job: process.env.SLURM_JOB_ID, cpus: process.env.SLURM_CPUS_PER_TASK }))
        .stage('fit', ({ pre, condition }) => ({ score: pre.data.length + (condition === 'A' ? 0 : 100), job: process.env.SLURM_JOB_ID }), { needs: ['pre'] })
        .distribute({ by: ['subject'], workersWithin: 2, pool: 'hpc' })
        .submit();
      const rows = await h.collect({ progress: false });
      expect(rows.map((r) => r.status)).toEqual(Array(12).fill('ok'));
      rows.forEach((r, i) => {
        const g = grid[i]!;
        expect(r.status === 'ok' && [r.pre.data, r.fit.score]).toEqual([`${g.subject}-${g.session}`, 5 + (g.condition === 'A' ? 0 : 100)]);
      });
      const jobOf = (s: string) => new Set(rows.filter((r) => r.subject === s).flatMap((r) => (r.status === 'ok' ? [r.pre.job, r.fit.job] : [])));
      const jobs = ['s01', 's02', 's03'].map(jobOf);
      for (const j of jobs) expect(j.size).toBe(1); // a unit runs in one job...
      expect(new Set(jobs.map((j) => [...j][0])).size).toBe(3); // ...and each unit in its own
      expect(rows.every((r) => r.status === 'ok' && r.pre.job !== undefined && r.pre.cpus === '2')).toBe(true);
      expect((await h.status()).plan).toMatchObject({ units: 3, rowsPerUnit: [4, 4, 4], pool: 'hpc' });
    } finally {
      await fl.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await until(async () => (await ourSlurmJobs('flotilla-hpc')).length === 0, 30_000);
  }, 180_000);
});
