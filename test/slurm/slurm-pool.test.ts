/**
 * SLURM pools against a real single-node SLURM (slurmctld, slurmd, munge from Debian's packages;
 * test/fixtures/slurm-up.sh). The controller runs here, on the "login node", and submits with
 * sbatch; agents run inside the jobs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { Reaper } from '../support/reaper.js';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { slurm, sshd } from '../fixtures/index.js';
import { rejection, until, within } from '../support/async.js';

beforeAll(async () => {
  await slurm();
}, 180_000);

/**
 * Pool names of this test process. The SLURM fixture is shared by every test run on the machine,
 * and a pool's jobs are named `flotilla-<pool>`: with fixed names, another run's jobs (the same
 * test, started a moment later) would count as jobs this one left in the queue.
 */
const RUN = process.pid.toString(36);
const ARR = `arr-${RUN}`, CANCEL = `cancel-${RUN}`, BAD = `bad-${RUN}`, VIA = `via-${RUN}`, SHORT = `short-${RUN}`;

/** Jobs still in the queue (any state): of this pool, or with any flotilla job name. */
async function ourJobs(pool?: string): Promise<string[]> {
  const r = await execa('squeue', ['-h', '-r', '-o', '%i|%j'], { reject: false });
  const named = (n: string) => (pool === undefined ? n.startsWith('flotilla-') : n === `flotilla-${pool}`);
  return r.stdout.split('\n').filter((l) => named(l.slice(l.indexOf('|') + 1))).map((l) => l.split('|')[0]!);
}

const jobsOf = async (fl: Session, pool: string) => ((await fl.agents()).pools.find((p) => p.name === pool)!.hosts as { job: string; state: string }[]).map((h) => h.job);

async function scontrol(job: string): Promise<string> {
  return (await execa('scontrol', ['-o', 'show', 'job', job])).stdout;
}

describe('SLURM pools', () => {
  it('runs a map on a job array of agents, with the resources asked for', async () => {
    const fl = await connect({
      pools: { [ARR]: { launcher: 'slurm', agents: 2, resources: { partition: 'debug', time: '10m', mem: '300M', cpusPerTask: 2, extra: ['--comment=flotilla-test'] }, graceMs: 3000 } },
      waitForAgents: 2,
    });
    try {
      const out = await fl.map([1, 2, 3, 4, 5, 6], (x) => ({ x: x * 3, job: process.env.SLURM_ARRAY_JOB_ID, task: process.env.SLURM_ARRAY_TASK_ID }), { pool: ARR });
      expect(out.map((o) => o.x)).toEqual([3, 6, 9, 12, 15, 18]);
      const jobs = await jobsOf(fl, ARR);
      expect(jobs.length).toBe(2);
      const arrayId = jobs[0]!.split('_')[0];
      expect(jobs.every((j) => j.startsWith(`${arrayId}_`))).toBe(true); // ONE array, not many jobs
      for (const o of out) expect(jobs).toContain(`${o.job}_${o.task}`); // every task ran inside one of those jobs
      const info = await scontrol(jobs[0]!);
      expect(info).toMatch(/Partition=debug/);
      expect(info).toMatch(/TimeLimit=00:10:00/);
      expect(info).toMatch(/MinMemoryNode=300M/);
      expect(info).toMatch(/MinCPUsNode=2/);
      expect(info).toMatch(/Comment=flotilla-test/);
      expect(fl.controller!.pools.get(ARR)!.opts.slots).toBe(2); // cpusPerTask slots per agent
    } finally {
      await fl.close();
    }
    await until(async () => (await ourJobs(ARR)).length === 0, 15_000);
  });

  it('re-runs the tasks of a job cancelled mid-task; nothing lost, nothing twice', async () => {
    const fl = await connect({ pools: { [CANCEL]: { launcher: 'slurm', agents: 2, slots: 1, resources: { time: '10m' }, graceMs: 3000, pollSeconds: 1 } }, waitForAgents: 2 });
    try {
      const n = 30;
      const job = fl.map(Array.from({ length: n }, (_, i) => i), async (x) => {
        await new Promise((r) => setTimeout(r, 100));
        return x;
      }, { pool: CANCEL, retries: 5 });
      const seen = new Map<number, number>();
      let cancelled = false;
      for await (const r of job) {
        seen.set(r.index, (seen.get(r.index) ?? 0) + 1);
        if (!cancelled && seen.size >= 5) {
          cancelled = true;
          await execa('scancel', [(await jobsOf(fl, CANCEL))[0]!]);
        }
      }
      expect(seen.size).toBe(n);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      expect(await job).toEqual(Array.from({ length: n }, (_, i) => i));
    } finally {
      await fl.close();
    }
    await until(async () => (await ourJobs(CANCEL)).length === 0, 15_000);
  });

  it('leaves no job of ours in the queue after its controller is killed (SIGKILL)', async () => {
    // Its own TMPDIR: killed, it cannot remove its embedded controller's state folder; the reaper does.
    const reaper = new Reaper();
    const child = execa('node', ['--import', 'tsx', new URL('./fixtures/slurm-controller.ts', import.meta.url).pathname], {
      reject: false,
      buffer: false,
      env: { TMPDIR: reaper.tempDir('flotilla-killed-') },
    });
    let line = '';
    await within(
      new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => ((line += d), line.includes('\n') && resolve()))),
      60_000,
      'controller child reporting its jobs',
    );
    const jobs = JSON.parse(line) as string[];
    expect(jobs.length).toBe(2);
    expect((await ourJobs()).filter((j) => jobs.includes(j)).length).toBe(2);
    child.kill('SIGKILL');
    await child;
    // Its agents find the controller gone and leave after their grace period, ending their jobs.
    await until(async () => (await ourJobs()).filter((j) => jobs.includes(j)).length === 0, 20_000);
  });

  it('refuses an impossible request and a bad partition, with sbatch\'s reason, before any task runs', async () => {
    const big = await rejection(connect({ pools: { [BAD]: { launcher: 'slurm', resources: { cpusPerTask: 512 } } }, waitForAgents: 1 }));
    expect(big.code).toBe('LAUNCH_FAILED');
    expect(big.message).toMatch(/sbatch on this machine refused the job: .*(Requested node configuration is not available|More processors requested)/);
    const part = await rejection(connect({ pools: { [BAD]: { launcher: 'slurm', resources: { partition: 'no-such-partition' } } }, waitForAgents: 1 }));
    expect(part.message).toMatch(/sbatch on this machine refused the job: .*invalid partition/i);
    const time = await rejection(connect({ pools: { [BAD]: { launcher: 'slurm', resources: { time: 'soon' } } } }));
    expect(time.message).toMatch(/resources\.time must be minutes/);
    expect(await ourJobs(BAD)).toEqual([]); // nothing was queued
  });
});

describe('SLURM pools through a login node', () => {
  it('submits over SSH on the login node; agents come back through its relay and the tunnel', async () => {
    const fx = await sshd();
    const fl = await connect({
      pools: {
        [VIA]: {
          launcher: 'slurm',
          via: fx.hostAlias,
          relayListen: '127.0.0.1:0',
          agents: 2,
          slots: 1,
          resources: { time: '10m' },
          graceMs: 3000,
          ssh: { sshConfig: fx.sshConfig, knownHosts: fx.knownHosts, tunnel: 'always' },
        },
      },
      waitForAgents: 2,
    });
    try {
      const uid = Number((await execa('id', ['-u', fx.user])).stdout);
      const out = await fl.map([1, 2, 3, 4], (x) => ({ x, job: process.env.SLURM_JOB_ID, uid: process.getuid!() }), { pool: VIA });
      expect(out.map((o) => o.x)).toEqual([1, 2, 3, 4]);
      expect(out.every((o) => o.uid === uid && o.job)).toBe(true); // in jobs of the login node's user
      // The agents dialled the relay (a port on the login node), not the controller's endpoint.
      const controllerPort = new URL(fl.controller!.agentUrl).port;
      const log = (await execa('sh', ['-c', `cat ${(await execa('getent', ['passwd', fx.user])).stdout.split(':')[5]}/.cache/flotilla/slurm/flotilla-${VIA}-*.log`])).stdout;
      expect(log).toMatch(/dialing ws:\/\/127\.0\.0\.1:\d+\/agent/);
      expect(log).not.toContain(`127.0.0.1:${controllerPort}/agent`);
    } finally {
      await fl.close();
    }
    await until(async () => (await ourJobs(VIA)).length === 0, 15_000);
  });
});

describe('SLURM pools: time limits', () => {
  it('re-runs the tasks of a job that hits its time limit (TIMEOUT) in a new job; nothing lost', async () => {
    // SLURM checks time limits about every 30 s: a 1-minute job ends 60-90 s after it starts, so
    // the work (50 tasks of 2 s on one agent) must outlast that.
    const logs: string[] = [];
    const fl = await connect({
      // walltime: false, or the pool would retire the agent before SLURM's limit, as it should.
      pools: { [SHORT]: { launcher: 'slurm', agents: 1, slots: 1, resources: { time: 1 }, walltime: false, graceMs: 3000, pollSeconds: 1 } },
      waitForAgents: 1,
      controller: { log: (l) => logs.push(l) },
    });
    try {
      const n = 50;
      const job = fl.map(Array.from({ length: n }, (_, i) => i), async (x) => {
        await new Promise((r) => setTimeout(r, 2000));
        return { x, job: process.env.SLURM_ARRAY_JOB_ID };
      }, { pool: SHORT, retries: 3 });
      const out = await job;
      expect(out.map((o) => o.x)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(new Set(out.map((o) => o.job)).size).toBeGreaterThanOrEqual(2); // the work moved to a new job
      expect(logs.some((l) => new RegExp(`slurm: job \\d+_0 \\(agent ${SHORT}-\\w+\\) ended TIMEOUT`).test(l))).toBe(true);
    } finally {
      await fl.close();
    }
    await until(async () => (await ourJobs(SHORT)).length === 0, 15_000);
  }, 300_000);
});
