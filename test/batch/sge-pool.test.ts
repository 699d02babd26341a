/**
 * Grid Engine pools against a real Grid Engine cell (sge_qmaster, sge_execd from Debian's
 * gridengine-* packages; test/fixtures/sge-up.sh). The controller runs here, on the submit host,
 * and submits with qsub; agents run inside the jobs.
 */
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { ourSgeJobs, qstatJob, sge, sshd } from '../fixtures/index.js';
import { rejection, until, within } from '../support/async.js';
import { sampler } from '../pools/helpers.js';

beforeAll(async () => {
  await sge(); // also puts SGE_ROOT/SGE_CELL and the real qsub/qstat first on this process's PATH
}, 300_000);

const jobsOf = async (fl: Session, pool: string) => ((await fl.agents()).pools.find((p) => p.name === pool)!.hosts as { job: string; state: string }[]).map((h) => h.job);

describe('Grid Engine pools', () => {
  it('runs a map on a qsub -t array of agents, with the resources asked for (qstat -j)', async () => {
    const fl = await connect({
      pools: { garr: { launcher: 'sge', agents: 2, resources: { queue: 'all.q', pe: 'smp', slots: 2, h_rt: '10m', h_vmem: '1G', extra: ['-ac flotilla=test'] }, graceMs: 3000, pollSeconds: 1 } },
      waitForAgents: 2,
    });
    try {
      const out = await fl.map([1, 2, 3, 4, 5, 6], (x) => ({ x: x * 3, job: process.env.JOB_ID, task: process.env.SGE_TASK_ID, nslots: process.env.NSLOTS }), { pool: 'garr' });
      expect(out.map((o) => o.x)).toEqual([3, 6, 9, 12, 15, 18]);
      const jobs = await jobsOf(fl, 'garr');
      expect(jobs.length).toBe(2);
      const arrayId = jobs[0]!.split('.')[0]!;
      expect(jobs.every((j) => j.startsWith(`${arrayId}.`))).toBe(true); // ONE array, not many jobs
      for (const o of out) expect(jobs).toContain(`${o.job}.${o.task}`); // every task ran inside one of those jobs
      expect(out.every((o) => o.nslots === '2')).toBe(true);
      const info = await qstatJob(arrayId);
      expect(info).toMatch(/job_name:\s+flotilla-garr/);
      expect(info).toMatch(/hard resource_list:\s+.*h_rt=600/);
      expect(info).toMatch(/hard resource_list:\s+.*h_vmem=1G/);
      expect(info).toMatch(/hard_queue_list:\s+all\.q/);
      expect(info).toMatch(/parallel environment:\s+smp range: 2/);
      expect(info).toMatch(/context:\s+flotilla=test/);
      expect(fl.controller!.pools.get('garr')!.opts.slots).toBe(2); // pe slots per agent
    } finally {
      await fl.close();
    }
    await until(async () => (await ourSgeJobs('flotilla-garr')).length === 0, 15_000);
  });

  it("cores: 'all': the agent sizes its task slots from NSLOTS", async () => {
    const fl = await connect({ pools: { gall: { launcher: 'sge', agents: 1, cores: 'all', resources: { pe: 'smp', slots: 3 }, graceMs: 3000, pollSeconds: 1 } }, waitForAgents: 1 });
    try {
      await until(async () => (await fl.agents()).lanes.filter((l) => l.pool === "gall").length === 3, 30_000);
      const out = await fl.map([1, 2, 3], (x) => ({ x, nslots: process.env.NSLOTS }), { pool: 'gall' });
      expect(out).toEqual([1, 2, 3].map((x) => ({ x, nslots: '3' })));
    } finally {
      await fl.close();
    }
    await until(async () => (await ourSgeJobs('flotilla-gall')).length === 0, 15_000);
  });

  it('re-runs the tasks of an element deleted (qdel) mid-task; nothing lost, nothing twice', async () => {
    const fl = await connect({ pools: { gcancel: { launcher: 'sge', agents: 2, slots: 1, resources: { h_rt: '10m' }, graceMs: 3000, pollSeconds: 1 } }, waitForAgents: 2 });
    try {
      const n = 30;
      const job = fl.map(Array.from({ length: n }, (_, i) => i), async (x) => {
        await new Promise((r) => setTimeout(r, 100));
        return x;
      }, { pool: 'gcancel', retries: 5 });
      const seen = new Map<number, number>();
      let deleted = false;
      for await (const r of job) {
        seen.set(r.index, (seen.get(r.index) ?? 0) + 1);
        if (!deleted && seen.size >= 5) {
          deleted = true;
          const [id, task] = (await jobsOf(fl, 'gcancel'))[0]!.split('.');
          await execa('qdel', [id!, '-t', task!]);
        }
      }
      expect(seen.size).toBe(n);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      expect(await job).toEqual(Array.from({ length: n }, (_, i) => i));
    } finally {
      await fl.close();
    }
    await until(async () => (await ourSgeJobs('flotilla-gcancel')).length === 0, 15_000);
  });

  it('re-runs the tasks of an element killed at its h_rt in a new job; nothing lost', async () => {
    const logs: string[] = [];
    const fl = await connect({
      // walltime: false, or the pool would retire the agent before Grid Engine's limit, as it should.
      pools: { gshort: { launcher: 'sge', agents: 1, slots: 1, resources: { h_rt: 15 }, walltime: false, graceMs: 3000, pollSeconds: 1 } },
      waitForAgents: 1,
      controller: { log: (l) => logs.push(l) },
    });
    try {
      const n = 20;
      const out = await fl.map(Array.from({ length: n }, (_, i) => i), async (x) => {
        await new Promise((r) => setTimeout(r, 1000));
        return { x, job: process.env.JOB_ID };
      }, { pool: 'gshort', retries: 3 });
      expect(out.map((o) => o.x)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(new Set(out.map((o) => o.job)).size).toBeGreaterThanOrEqual(2); // the work moved to a new job
      expect(logs.some((l) => /sge: job \d+\.1 \(agent gshort-\w+\) ended TIMEOUT/.test(l))).toBe(true);
    } finally {
      await fl.close();
    }
    await until(async () => (await ourSgeJobs('flotilla-gshort')).length === 0, 15_000);
  }, 180_000);

  it('leaves no job of ours in the queue after its controller is killed (SIGKILL)', async () => {
    // Its own TMPDIR, removed after: killed, it cannot remove its embedded controller's state folder there.
    const tmp = mkdtempSync(join(tmpdir(), 'flotilla-killed-'));
    onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
    const child = execa('node', ['--import', 'tsx', new URL('./fixtures/sge-controller.ts', import.meta.url).pathname], { reject: false, buffer: false, env: { TMPDIR: tmp } });
    let line = '';
    await within(
      new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => ((line += d), line.includes('\n') && resolve()))),
      60_000,
      'controller child reporting its jobs',
    );
    const elements = JSON.parse(line) as string[];
    expect(elements.length).toBe(2);
    const id = elements[0]!.split('.')[0]!;
    expect(await ourSgeJobs('flotilla-killed')).toContain(id);
    child.kill('SIGKILL');
    await child;
    // Its agents find the controller gone and leave after their grace period, ending their jobs.
    await until(async () => !(await ourSgeJobs('flotilla-killed')).includes(id), 30_000);
  });

  it("refuses an impossible request and an unknown queue at once, with Grid Engine's own reason", async () => {
    const big = await rejection(connect({ pools: { gbad: { launcher: 'sge', resources: { pe: 'smp', slots: 512 } } }, waitForAgents: 1 }));
    expect(big.code).toBe('LAUNCH_FAILED');
    expect(big.message).toMatch(/qsub on this machine refused the job: .*no suitable queues/);
    const queue = await rejection(connect({ pools: { gbad: { launcher: 'sge', resources: { queue: 'no-such.q' } } }, waitForAgents: 1 }));
    expect(queue.message).toMatch(/qsub on this machine refused the job: .*unknown queue "no-such\.q"/);
    const time = await rejection(connect({ pools: { gbad: { launcher: 'sge', resources: { h_rt: 'soon' } } } }));
    expect(time.message).toMatch(/resources\.h_rt must be seconds/);
    const typo = await rejection(connect({ pools: { gbad: { launcher: 'sge', resources: { h_vmen: '1G' } as never } } }));
    expect(typo.message).toMatch(/pools\.gbad\.resources\.h_vmen is not an option \(did you mean h_vmem\?\)/);
    expect(await ourSgeJobs('flotilla-gbad')).toEqual([]); // nothing was queued
  });

  it('scales 0 -> N -> 0: one array while work waits, no job once idleTimeout has passed', async () => {
    const logs: string[] = [];
    const fl = await connect({
      pools: { gauto: { launcher: 'sge', min: 0, max: 2, slots: 1, idleTimeout: '2s', resources: { h_rt: '10m' }, graceMs: 3000, pollSeconds: 1 } },
      controller: { log: (l) => logs.push(l) },
    });
    const pool = fl.controller!.pools.get('gauto')!;
    const s = sampler(pool, 50);
    try {
      expect(pool.status()).toMatchObject({ agents: 0, min: 0, max: 2 });
      expect(await ourSgeJobs('flotilla-gauto')).toEqual([]);
      const out = await fl.map(Array.from({ length: 12 }, (_, i) => i), async (x: number) => {
        await new Promise((r) => setTimeout(r, 300));
        return { x, job: process.env.JOB_ID };
      }, { pool: 'gauto' });
      expect(out.map((o) => o.x)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(Math.max(...s.samples.map((x) => x.agents))).toBe(2); // the backlog asked for more than max
      expect(logs.filter((l) => /sge: submitted array/.test(l)).length).toBe(1); // launched together: one array
      await s.until((x) => x.agents === 0, 20_000, 'idle Grid Engine agents retired');
      expect(logs.filter((l) => /retiring agent gauto-\w+: idle for 2000 ms/.test(l)).length).toBe(2);
      await until(async () => (await ourSgeJobs('flotilla-gauto')).length === 0, 15_000);
      expect(pool.failure).toBeUndefined();
    } finally {
      s.stop();
      await fl.close();
    }
  }, 120_000);
});

describe('Grid Engine pools through a login node', () => {
  it('submits over SSH on the login node; agents come back through its relay and the tunnel', async () => {
    const fx = await sshd();
    const fl = await connect({
      pools: {
        gvia: {
          launcher: 'sge',
          via: fx.hostAlias,
          relayListen: '127.0.0.1:0',
          agents: 2,
          slots: 1,
          resources: { h_rt: '10m' },
          graceMs: 3000,
          pollSeconds: 1,
          ssh: { sshConfig: fx.sshConfig, knownHosts: fx.knownHosts, tunnel: 'always' },
        },
      },
      waitForAgents: 2,
    });
    try {
      const uid = Number((await execa('id', ['-u', fx.user])).stdout);
      const out = await fl.map([1, 2, 3, 4], (x) => ({ x, job: process.env.JOB_ID, uid: process.getuid!() }), { pool: 'gvia' });
      expect(out.map((o) => o.x)).toEqual([1, 2, 3, 4]);
      expect(out.every((o) => o.uid === uid && o.job)).toBe(true); // in jobs of the login node's user
      // The agents dialled the relay (a port on the login node), not the controller's endpoint.
      const controllerPort = new URL(fl.controller!.agentUrl).port;
      const home = (await execa('getent', ['passwd', fx.user])).stdout.split(':')[5];
      const log = (await execa('sh', ['-c', `cat ${home}/.cache/flotilla/sge/flotilla-gvia-*.log`])).stdout;
      expect(log).toMatch(/dialing ws:\/\/127\.0\.0\.1:\d+\/agent/);
      expect(log).not.toContain(`127.0.0.1:${controllerPort}/agent`);
    } finally {
      await fl.close();
    }
    await until(async () => (await ourSgeJobs('flotilla-gvia')).length === 0, 15_000);
  });
});
