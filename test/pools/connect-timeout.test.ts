/**
 * connectTimeout: a real agent process that starts but never dials the controller (here it hangs
 * in a `--import` before the agent's code runs) is stopped after the timeout and counts as a
 * failed launch, so the pool gives up after its failure limit and the map fails with the reason
 * instead of waiting forever. Agents that connect in time are left alone.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { planPools } from '../../server/pool-options.js';
import { isGone, sampler, sleep, waitGone } from './helpers.js';
import { scaled } from '../support/timing.js';

/** Runs before the agent's code: says so on stderr, then keeps the process alive, never dialing. */
const HANG = Buffer.from('console.error("hanging before dialing");await new Promise(()=>setInterval(()=>{},60000))').toString('base64');

describe('connectTimeout', () => {
  it('stops an agent that never connects, counts it as a failed launch and fails the map with the reason', async () => {
    // Long enough for the hanging process to start and say so on stderr, on a loaded machine too.
    const timeoutMs = scaled(1_000);
    const logs: string[] = [];
    const fl = await connect({
      pools: { hang: { launcher: 'local', agents: 1, connectTimeout: timeoutMs, env: { NODE_OPTIONS: `--import data:text/javascript;base64,${HANG}` } } },
      controller: { log: (l) => logs.push(l) },
    });
    const pool = fl.controller!.pools.get('hang')!;
    const s = sampler(pool);
    try {
      const err = await fl.map([1, 2, 3], (x: number) => x * 2).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(new RegExp(`stopped launching after 3 failures in a row; last: agent \\S+ on \\S+ \\(pid \\d+\\) did not connect within ${timeoutMs} ms \\(connectTimeout\\); its stderr: .*hanging before dialing`));
      expect(err!.message).toMatch(/^3 of 3 task\(s\) failed; first, task 0: pool hang stopped/);
      expect(err!.message.endsWith(pool.failure!)).toBe(true);
      // Three launches, each stopped by the pool (not by close): every pid is gone already.
      expect(s.pids.size).toBe(3);
      await waitGone([...s.pids], 10_000, 'timed-out agents');
      expect(pool.status()).toMatchObject({ agents: 0, running: 0, starting: 0 });
      expect(logs.filter((l) => l.includes(`did not connect within ${timeoutMs} ms (connectTimeout); stopping it`))).toHaveLength(3);
      // None was ever counted as running, and never more than the one agent at a time.
      expect(s.samples.every((x) => x.running === 0 && x.agents <= 1)).toBe(true);
    } finally {
      s.stop();
      await fl.close();
    }
    await waitGone([...s.pids], 5_000, 'agents after close');
  }, 60_000);

  it('leaves agents that connect within a short timeout running past it', async () => {
    const connectTimeout = 5_000;
    const t0 = Date.now();
    const fl = await connect({ pools: { ok: { launcher: 'local', agents: 2, connectTimeout } }, waitForAgents: 2 });
    const pool = fl.controller!.pools.get('ok')!;
    const s = sampler(pool);
    try {
      expect(await fl.map(Array.from({ length: 200 }, (_, i) => i), (x: number) => x + 1)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      const pids = [...s.pids];
      expect(pids).toHaveLength(2);
      // Past the timeout since launch: nothing is stopped, the same agents still work.
      await sleep(Math.max(0, t0 + connectTimeout + 1_000 - Date.now()));
      expect(pool.status()).toMatchObject({ agents: 2, running: 2, starting: 0, failure: undefined });
      expect(pids.every((p) => !isGone(p))).toBe(true);
      expect(await fl.map([1, 2, 3], (x: number) => x * 3)).toEqual([3, 6, 9]);
      expect(s.pids.size).toBe(2);
    } finally {
      s.stop();
      await fl.close();
    }
    await waitGone([...s.pids], 5_000, 'agents after close');
  }, 60_000);

  it('has defaults per launcher and names a bad value', () => {
    const plans = planPools({
      l: { launcher: 'local', max: 1 },
      s: { launcher: 'ssh', hosts: ['a'] },
      q: { launcher: 'slurm', max: 1 },
      q2: { launcher: 'slurm', max: 1, connectTimeout: '10m' },
      off: { launcher: 'local', max: 1, connectTimeout: false },
      ms: { launcher: 'local', max: 1, connectTimeout: 1500 },
    });
    expect(plans.l!.connectTimeoutMs).toBe(60_000);
    expect(plans.s!.connectTimeoutMs).toBe(60_000);
    expect(plans.q!.connectTimeoutMs).toBeUndefined();
    expect(plans.q2!.connectTimeoutMs).toBe(600_000);
    expect(plans.off!.connectTimeoutMs).toBeUndefined();
    expect(plans.ms!.connectTimeoutMs).toBe(1500);
    expect(() => planPools({ p: { launcher: 'local', max: 1, connectTimeout: 'soon' } })).toThrow(/pools\.p\.connectTimeout must be a duration like '5m', '90s', '1h' or a positive number of milliseconds, got "soon"/);
    expect(() => planPools({ p: { launcher: 'local', max: 1, connectTimeout: -5 } })).toThrow(/pools\.p\.connectTimeout must be a duration.*got -5/);
    expect(() => planPools({ p: { launcher: 'local', max: 1, connectTimeout: true as never } })).toThrow(/pools\.p\.connectTimeout must be a duration.*got true/);
  });
});
