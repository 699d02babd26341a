/**
 * The pool policy as pure functions: how many agents to launch for a backlog, which idle agents
 * to retire, how agents' ends of life are spread; how options become a plan; how a job's
 * `requires` picks a pool.
 */
import { describe, expect, it } from 'vitest';
import { agentsToLaunch, idleToRetire, retireAt } from '../../server/autoscaler.js';
import { planPools } from '../../server/pool-options.js';
import { choosePool } from '../../server/routing.js';
import type { Routable } from '../../server/routing.js';
import { slurmGpus, slurmMemoryMb, slurmTimeMs } from '../../server/launchers/slurm/resources.js';

const view = { backlog: 0, freeSlots: 0, starting: 0, active: 0, slotsPerAgent: 1, min: 0, max: 4, maxLaunching: 16 };

describe('agentsToLaunch', () => {
  it('launches for the backlog less free slots and slots on their way, within [min, max]', () => {
    expect(agentsToLaunch({ ...view, backlog: 2000, active: 1 })).toBe(3);
    expect(agentsToLaunch({ ...view, backlog: 3, freeSlots: 1, starting: 1, active: 2 })).toBe(1);
    expect(agentsToLaunch({ ...view, backlog: 5, slotsPerAgent: 4 })).toBe(2);
    expect(agentsToLaunch({ ...view, backlog: 2, starting: 2, active: 2 })).toBe(0); // on their way
    expect(agentsToLaunch({ ...view, min: 2 })).toBe(2); // the floor, with no work
    expect(agentsToLaunch({ ...view, backlog: 100, active: 4 })).toBe(0); // at max
  });

  it('keeps launches in flight under maxLaunching', () => {
    expect(agentsToLaunch({ ...view, backlog: 100, max: 50, maxLaunching: 8 })).toBe(8);
    expect(agentsToLaunch({ ...view, backlog: 100, max: 50, maxLaunching: 8, starting: 6, active: 6 })).toBe(2);
  });
});

describe('idleToRetire', () => {
  it('retires agents idle past the timeout, longest idle first, never below min', () => {
    const now = 10_000;
    const agents = [
      { id: 'a', idleSince: 9_000 },
      { id: 'b', idleSince: 1_000 },
      { id: 'c', idleSince: undefined }, // busy
      { id: 'd', idleSince: 5_000 },
    ];
    expect(idleToRetire(agents, 4, 1, 2_000, now)).toEqual(['b', 'd']);
    expect(idleToRetire(agents, 4, 3, 2_000, now)).toEqual(['b']);
    expect(idleToRetire(agents, 4, 0, 20_000, now)).toEqual([]);
  });
});

describe('retireAt', () => {
  it('ends lives before the walltime, spread so agents started together leave apart', () => {
    const ends = [0, 1, 2, 3, 4, 5].map((k) => retireAt(0, 100_000, k));
    for (const e of ends) {
      expect(e).toBeLessThanOrEqual(95_000); // the margin
      expect(e).toBeGreaterThanOrEqual(80_000); // at most margin + spread early
    }
    const sorted = [...ends].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThan(1_000);
    expect(retireAt(0, 24 * 3_600_000, 0)).toBe(24 * 3_600_000 - 5 * 60_000); // margin capped at 5 min
  });
});

describe('planPools', () => {
  it('reads agents as a fixed count, max alone as scaling from zero, and durations', () => {
    expect(planPools({ p: { launcher: 'local', agents: 3 } }).p).toMatchObject({ min: 3, max: 3, agents: 3 });
    expect(planPools({ p: { launcher: 'local', max: 4, idleTimeout: '1.5s' } }).p).toMatchObject({ min: 0, max: 4, idleTimeoutMs: 1500, agentIdleTimeoutMs: 600_000 });
    expect(planPools({ p: { launcher: 'local', min: 1, max: 4, idleTimeout: '1h', maxTasks: 10, walltime: '2h' } }).p).toMatchObject({ min: 1, idleTimeoutMs: 3_600_000, agentIdleTimeoutMs: 7_200_000, maxTasks: 10, walltimeMs: 7_200_000 });
    // The agent's own timeout, when given, is the pool's too unless idleTimeout says otherwise.
    expect(planPools({ p: { launcher: 'local', agents: 1, idleTimeoutMs: 800 } }).p).toMatchObject({ idleTimeoutMs: 800, agentIdleTimeoutMs: 800 });
  });

  it('derives SLURM slots, per-slot resources and walltime from the resources', () => {
    const plan = planPools({ hpc: { launcher: 'slurm', max: 8, resources: { cpusPerTask: 8, mem: '16G', gres: 'gpu:a100:2', time: '2h' }, slots: 2 } }).hpc!;
    expect(plan).toMatchObject({ min: 0, max: 8, slots: 2, slot: { cores: 4, memoryMb: 8192, gpus: 1 }, walltimeMs: 7_200_000, maxLaunching: 8 });
    expect(planPools({ hpc: { launcher: 'slurm', resources: { time: '1h' }, walltime: false } }).hpc!.walltimeMs).toBeUndefined();
    expect(slurmTimeMs('1-02:00:00')).toBe(26 * 3_600_000);
    expect(slurmTimeMs('30:00')).toBe(30 * 60_000);
    expect(slurmTimeMs(90)).toBe(90 * 60_000);
    expect(slurmMemoryMb('300M')).toBe(300);
    expect(slurmGpus({ gpus: 'a100:3' })).toBe(3);
    expect(slurmGpus({ gres: 'gpu' })).toBe(1);
  });

  it('caps an SSH pool at hosts × agentsPerHost and starts them all unless min says otherwise', () => {
    expect(planPools({ s: { launcher: 'ssh', hosts: ['a', 'b'], agentsPerHost: 2 } }).s).toMatchObject({ min: 4, max: 4 });
    expect(planPools({ s: { launcher: 'ssh', hosts: ['a', 'b'], agentsPerHost: 2, min: 0 } }).s).toMatchObject({ min: 0, max: 4 });
    expect(() => planPools({ s: { launcher: 'ssh', hosts: ['a'], max: 3 } })).toThrow(/pools\.s\.max must be at most hosts × agentsPerHost \(1\)/);
  });

  it('names the bad option', () => {
    expect(() => planPools({ p: { launcher: 'local', agents: 2, max: 4 } })).toThrow(/pools\.p\.agents is a fixed count/);
    expect(() => planPools({ p: { launcher: 'local', min: 5, max: 4 } })).toThrow(/pools\.p\.min must be at most max \(4\), got 5/);
    expect(() => planPools({ p: { launcher: 'local', max: 2, idleTimeout: 'soon' } })).toThrow(/pools\.p\.idleTimeout must be a duration/);
    expect(() => planPools({ p: { launcher: 'local', max: 2, walltime: -1 } })).toThrow(/pools\.p\.walltime must be a duration/);
    expect(() => planPools({ p: { launcher: 'local', max: 2, labels: 'gpu' as never } })).toThrow(/pools\.p\.labels must be a list/);
  });
});

describe('choosePool', () => {
  const pool = (name: string, cores: number | undefined, memoryMb: number | undefined, gpus: number, labels: string[] = [], failure?: string): Routable => ({ name, slot: { cores, memoryMb, gpus }, labels, failure });
  const pools = new Map([
    ['small', pool('small', 1, 1024, 0, ['cpu'])],
    ['big', pool('big', 8, 65_536, 0, ['cpu', 'bigmem'])],
    ['gpu', pool('gpu', 4, 16_384, 1, ['gpu'])],
    ['ssh', pool('ssh', undefined, undefined, 0)],
  ]);

  it('picks the first pool in declaration order that meets every requirement', () => {
    expect(choosePool(pools, {}, 'small').name).toBe('small');
    expect(choosePool(pools, { requires: { cores: 2 } }, 'small').name).toBe('big');
    expect(choosePool(pools, { requires: { cores: 2, gpus: 1 } }, 'small').name).toBe('gpu');
    expect(choosePool(pools, { requires: { labels: ['bigmem'], memoryMb: 32_000 } }, 'small').name).toBe('big');
    expect(choosePool(pools, { requires: {} }, 'gpu').name).toBe('small');
  });

  it('passes over a pool that gave up launching when another fits', () => {
    const withFailed = new Map([['a', pool('a', 8, undefined, 0, [], 'stopped launching')], ['b', pool('b', 8, undefined, 0)]]);
    expect(choosePool(withFailed, { requires: { cores: 4 } }, 'a').name).toBe('b');
  });

  it('fails with the requirement and what each pool offers', () => {
    expect(() => choosePool(pools, { requires: { cores: 64 } }, 'small')).toThrow(/no pool can meet requires \{"cores":64\}.*small offers 1 core\(s\), 1024 MB, 0 GPU\(s\).*short of cores 64/);
    expect(() => choosePool(pools, { requires: { labels: ['tpu'] } }, 'small')).toThrow(/short of labels \["tpu"\]/);
    expect(() => choosePool(pools, { pool: 'small', requires: { gpus: 1 } }, 'small')).toThrow(/pool "small" cannot meet requires \{"gpus":1\} \(gpus 1\)/);
    expect(() => choosePool(pools, { pool: 'nope' }, 'small')).toThrow(/no pool named "nope"; this controller has: small, big, gpu, ssh/);
  });
});
