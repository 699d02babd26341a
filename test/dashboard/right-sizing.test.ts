import { describe, expect, it } from 'vitest';
import { planPools } from '../../server/pool-options.js';
import { rightSizing } from '../../server/right-sizing.js';
import { UsageSummary } from '../../server/task-usage.js';

/** A job's usage: `n` tasks of `ms` each, the agent at `peakMb` at most, each task busy on `cores` cores. */
function usage(n: number, ms: number, peakMb: number, cores: number) {
  const u = new UsageSummary();
  for (let i = 0; i < n; i++) u.add(i, [0, 0, ms * 1000, ms * 1000 * cores, peakMb * 1024], 'a1');
  return u.summary();
}

describe('right-sizing', () => {
  it("sets what a SLURM pool's jobs ask for against what the tasks used", () => {
    const plan = planPools({ hpc: { launcher: 'slurm', slots: 4, resources: { time: '2h', mem: '8G', cpusPerTask: 4 } } }).hpc;
    const fit = rightSizing(plan, usage(200, 240_000, 1331, 0.5))!;
    expect(fit.requested).toEqual({ walltimeMs: 7_200_000, memoryBytes: 8 * 2 ** 30, cores: 4, slots: 4 });
    expect(fit.lines).toEqual([
      expect.stringMatching(/^memory: tasks used at most 1\.3 GB of the 8 GB asked \(16%\)$/),
      expect.stringMatching(/^time: p99 duration 4(\.\d)? min of the 2 h walltime/),
      'cores: 4 slot(s) kept about 2.0 of the 4 core(s) asked busy (0.50 per task)',
    ]);
  });

  it('says nothing for local and SSH pools, or before a task has run', () => {
    expect(rightSizing(planPools({ l: { launcher: 'local' } }).l, usage(3, 10, 50, 1))).toBeUndefined();
    expect(rightSizing(planPools({ s: { launcher: 'slurm', resources: { time: '1h' } } }).s, new UsageSummary().summary())).toBeUndefined();
  });
});
