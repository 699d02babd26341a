/**
 * The polite options (begin, nice, nodelist, exclude, exclusive) as each batch system's own
 * flags, seen where its users look: `scontrol show job` for SLURM, `qstat -j` for Grid Engine.
 * The jobs wait for their begin time, so no agent ever starts; closing the pool cancels them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { ourSgeJobs, ourSlurmJobs, qstatJob, sge, slurm } from '../fixtures/index.js';
import { until } from '../support/async.js';

let node = '';
beforeAll(async () => {
  [{ node }] = await Promise.all([slurm(), sge()]);
}, 300_000);

/** The pool's first job element, once submitted. */
async function firstJob(fl: Session, pool: string): Promise<string> {
  let job = '';
  await until(async () => {
    const hosts = ((await fl.agents()).pools.find((p) => p.name === pool)?.hosts ?? []) as { job: string }[];
    job = hosts[0]?.job ?? '';
    return job !== '';
  }, 30_000);
  return job;
}

describe('polite options', () => {
  it('SLURM: begin, nice, nodelist, exclude and exclusive show in scontrol show job', async () => {
    const fl = await connect({ pools: { polite: { launcher: 'slurm', agents: 1, begin: '2h', nice: 100, nodelist: [node], exclude: ['hpcnode'], exclusive: true, resources: { time: '10m' }, pollSeconds: 1 } } });
    try {
      const info = (await execa('scontrol', ['-o', 'show', 'job', await firstJob(fl, 'polite')])).stdout;
      expect(info).toMatch(/JobState=PENDING/);
      const begin = new Date(/EligibleTime=(\S+)/.exec(info)![1]!).getTime();
      expect(Math.abs(begin - (Date.now() + 2 * 3600_000))).toBeLessThan(5 * 60_000);
      expect(info).toMatch(/Nice=100/);
      expect(info).toMatch(new RegExp(`ReqNodeList=${node}\\b`));
      expect(info).toMatch(/ExcNodeList=hpcnode\b/);
      expect(info).toMatch(/OverSubscribe=NO/);
    } finally {
      await fl.close();
    }
    await until(async () => (await ourSlurmJobs('flotilla-polite')).length === 0, 15_000);
  });

  it("Grid Engine: begin, nice, nodelist, exclude and exclusive show in qstat -j", async () => {
    const fl = await connect({ pools: { gpolite: { launcher: 'sge', agents: 1, begin: '2h', nice: 100, nodelist: [node], exclude: ['other-node'], exclusive: true, resources: { h_rt: '10m' }, pollSeconds: 1 } } });
    try {
      const id = (await firstJob(fl, 'gpolite')).split('.')[0]!;
      const info = await qstatJob(id);
      const begin = new Date(/execution_time:\s+(.+)/.exec(info)![1]!).getTime();
      expect(Math.abs(begin - (Date.now() + 2 * 3600_000))).toBeLessThan(5 * 60_000);
      expect(info).toMatch(/priority:\s+-100/);
      expect(info).toMatch(new RegExp(`hard resource_list:.*hostname=\\(${node}\\)&!\\(other-node\\)`));
      expect(info).toMatch(/hard resource_list:.*exclusive=TRUE/i);
    } finally {
      await fl.close();
    }
    await until(async () => (await ourSgeJobs('flotilla-gpolite')).length === 0, 15_000);
  });
});
