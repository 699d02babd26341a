/**
 * An SSH pool that scales: min 0 starts nothing on the host; a backlog starts agents there (up
 * to hosts × agentsPerHost); idle ones are retired by closing their lifeline, leaving nothing
 * running on the host. Against the loopback sshd of test/fixtures.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { sshd } from '../fixtures/index.js';
import type { SshFixture } from '../fixtures/index.js';
import { sampler, waitGone } from './helpers.js';

let fx: SshFixture;
beforeAll(async () => {
  fx = await sshd();
}, 120_000);

describe('SSH pool autoscaling', () => {
  it('starts agents for a backlog and retires them when idle', async () => {
    const logs: string[] = [];
    const fl = await connect({
      pools: { ela: { launcher: 'ssh', hosts: [fx.hostAlias], agentsPerHost: 3, min: 0, slots: 1, idleTimeout: 1000, cores: 2, sshConfig: fx.sshConfig, knownHosts: fx.knownHosts } },
      controller: { log: (l) => logs.push(l) },
    });
    const pool = fl.controller!.pools.get('ela')!;
    const s = sampler(pool, 50);
    try {
      expect(pool.status()).toMatchObject({ agents: 0, min: 0, max: 3 });
      const out = await fl.map(Array.from({ length: 30 }, (_, i) => i), async (x: number) => {
        await new Promise((r) => setTimeout(r, 100));
        return { x, pid: process.pid, omp: process.env.OMP_NUM_THREADS };
      }, { pool: 'ela' });
      expect(out.map((o) => o.x)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(out.every((o) => o.omp === '2')).toBe(true); // the pool's cores per slot, over SSH
      expect(Math.max(...s.samples.map((x) => x.running))).toBe(3);
      const pids = [...new Set(out.map((o) => o.pid))];
      await s.until((x) => x.agents === 0, 6_000, 'idle SSH agents retired');
      expect(logs.filter((l) => /retiring agent ela-\w+: idle for 1000 ms/.test(l)).length).toBe(3);
      expect(pool.failure).toBeUndefined();
      await waitGone(pids, 5_000, 'retired SSH agents'); // the host is this machine
    } finally {
      s.stop();
      await fl.close();
    }
  });
});
