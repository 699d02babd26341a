/**
 * Right-sizing on a real SLURM pool (test/fixtures): after a job, its status sets what each
 * agent's job asked for (walltime, memory, cores) against what the tasks used, and the dashboard
 * shows the same.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { slurm } from '../fixtures/index.js';
import { usageLines } from '../../server/usage-lines.js';
import { firstFrame } from './stream.js';

beforeAll(async () => {
  await slurm();
}, 180_000);

describe('right-sizing on a SLURM pool', () => {
  it('sets the memory, walltime and cores asked against what the tasks used', async () => {
    const fl = await connect({
      pools: { hpc: { launcher: 'slurm', agents: 1, slots: 1, resources: { partition: 'debug', time: '10m', mem: '1G', cpusPerTask: 2 }, graceMs: 3000, pollSeconds: 1 } },
    });
    try {
      // One slot: where Node cannot read a thread's own CPU clock, a one-lane agent's is the task's.
      const job = fl.map(Array.from({ length: 6 }, (_, i) => i), async (x: number) => {
        const until = Date.now() + 150;
        while (Date.now() < until); // busy: the tasks use CPU
        return x;
      }, { pool: 'hpc' });
      await job;
      const s = await fl.status(await job.id);
      // The dashboard, opened now: the agent with its batch job and array element, the job with its fit.
      const frame = await firstFrame(fl.dashboardUrl());
      expect(frame.agents).toEqual([expect.objectContaining({ pool: 'hpc', state: 'running', batchJob: expect.stringMatching(/^\d+_0$/) })]);
      expect(frame.jobs!.find((j) => j.id === s.id)?.fit?.lines).toEqual(s.fit!.lines);
      expect(s.fit?.requested).toEqual({ walltimeMs: 600_000, memoryBytes: 2 ** 30, cores: 2, slots: 1 });
      expect(s.fit!.used.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
      expect(s.fit!.used.coresPerTask).toBeGreaterThan(0.3);
      const lines = usageLines(s).join('\n');
      expect(lines).toMatch(/right-sizing \(each agent's job asked for 10 min walltime, 1 GB, 2 core\(s\), 1 slot\(s\)\)/);
      expect(lines).toMatch(/memory: tasks used at most \d+ MB of the 1 GB asked \(\d+%\)/);
      expect(lines).toMatch(/time: p99 duration \d+ ms of the 10 min walltime/);
      expect(lines).toMatch(/cores: 1 slot\(s\) kept about \d\.\d of the 2 core\(s\) asked busy/);
    } finally {
      await fl.close();
    }
  }, 240_000);
});
