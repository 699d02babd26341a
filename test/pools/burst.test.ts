/**
 * A local pool under a bursty load: idle at its floor, up to max while 2,000 tasks wait, back to
 * min once its extra agents have been idle for idleTimeout; nothing left running after close.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { sampler, sleep, waitGone } from './helpers.js';
import { scaled } from '../support/timing.js';

describe('autoscaling a local pool', () => {
  it('rises to max during a burst and falls back to min within idleTimeout after it', async () => {
    const idleTimeout = 1500;
    const fl = await connect({ pools: { burst: { launcher: 'local', min: 1, max: 4, slots: 1, idleTimeout } }, waitForAgents: 1 });
    const pool = fl.controller!.pools.get('burst')!;
    const s = sampler(pool);
    try {
      // Idle, past idleTimeout: the floor stays.
      await sleep(idleTimeout + 300);
      expect(s.samples.every((x) => x.running + x.starting <= 1 && x.retiring === 0)).toBe(true);
      expect(pool.status()).toMatchObject({ min: 1, max: 4, running: 1, starting: 0, retiring: 0, failure: undefined });

      const n = 2000;
      const t0 = Date.now();
      const out = await fl.map(Array.from({ length: n }, (_, i) => i), async (x: number) => {
        await new Promise((r) => setTimeout(r, 3));
        return x * 2;
      });
      const burstEnd = Date.now();
      expect(out).toEqual(Array.from({ length: n }, (_, i) => i * 2));
      const during = s.samples.filter((x) => x.at >= t0 && x.at <= burstEnd);
      expect(Math.max(...during.map((x) => x.running))).toBe(4);
      expect(Math.max(...during.map((x) => x.running + x.starting + x.retiring))).toBeLessThanOrEqual(4);
      expect((await fl.agents()).pools.find((p) => p.name === 'burst')).toMatchObject({ min: 1, max: 4 });

      // Idle again: the extra agents are retired by idle time, not before, and min stays.
      const back = await s.until((x) => x.agents === 1 && x.running === 1, idleTimeout + 2500, 'back to min after the burst');
      expect(back - burstEnd).toBeGreaterThanOrEqual(idleTimeout - 100);
      expect(back - burstEnd).toBeLessThan(idleTimeout + scaled(1500));
      const firstRetire = s.samples.find((x) => x.at >= burstEnd && x.retiring > 0);
      if (firstRetire) expect(firstRetire.at - burstEnd).toBeGreaterThanOrEqual(idleTimeout - 100);
      await sleep(300);
      expect(pool.status()).toMatchObject({ agents: 1, running: 1, retiring: 0, failure: undefined });
      expect((await fl.agents()).lanes.length).toBe(1);
    } finally {
      s.stop();
      await fl.close();
    }
    expect(s.pids.size).toBeGreaterThanOrEqual(4);
    await waitGone([...s.pids], 5_000, 'agents after close');
  });
});
