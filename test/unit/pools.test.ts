/**
 * Pools sized by their work, on the fake clock with a fake launcher (no processes): launches for
 * a backlog up to `max`, retirement after `idleTimeout`, and launches that keep failing, which
 * stop the pool and fail its queued tasks with the pool's reason.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateIdentity } from '../../agent/protocol/generate-identity.js';
import type { ControlEvent } from '../../server/events.js';
import { LogRing } from '../../server/log-ring.js';
import { planPools } from '../../server/pool-options.js';
import type { PoolOptions } from '../../server/pool-options.js';
import { PoolSet } from '../../server/pool-set.js';
import { AgentRegistry } from '../../server/registry.js';
import type { Script } from './support/fake-lane.js';
import { FakeLauncher } from './support/fake-launcher.js';
import type { Launch } from './support/fake-launcher.js';
import { makeScheduler, results, runUntil, submit } from './support/plane.js';

beforeEach(() => void vi.useFakeTimers());
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
  vi.useRealTimers();
});

/** Pool `p` of a fake launcher, started as the controller starts its pools. */
function startPool(options: Partial<PoolOptions>, launches: (n: number) => Launch, script: Script = () => ({ hold: true })) {
  const { scheduler, events } = makeScheduler();
  const failures: Array<{ reason: string; inARow: number }> = [];
  events.subscribe((e: ControlEvent) => e.type === 'launch.failed' && failures.push({ reason: e.reason, inARow: e.inARow }));
  let launcher!: FakeLauncher;
  const pools = new PoolSet({
    scheduler,
    registry: new AgentRegistry(generateIdentity()),
    events,
    logs: new LogRing(100),
    embedded: true,
    log: () => {},
    createLauncher: () => (launcher = new FakeLauncher(scheduler, launches, script)),
  });
  pools.start(planPools({ p: { launcher: 'local', min: 0, max: 3, ...options } as PoolOptions }), { agentUrl: 'ws://fake', localAgentUrl: 'ws://fake' });
  close = () => pools.close();
  return { scheduler, pool: pools.pools.get('p')!, launcher, failures };
}

describe('a pool', () => {
  it('launches agents for its backlog, no more than the backlog needs', async () => {
    const { scheduler, pool, launcher } = startPool({}, () => 'connect');
    await vi.advanceTimersByTimeAsync(1000);
    expect(launcher.launches).toBe(0); // min 0 and no work: nothing
    submit(scheduler, ['a', 'b']);
    await runUntil(() => scheduler.lanes.size === 2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(launcher.launches).toBe(2);
    expect(pool.status()).toMatchObject({ agents: 2, running: 2, starting: 0 });
  });

  it('grows to max with a large backlog, and no further', async () => {
    const { scheduler, pool, launcher } = startPool({ max: 3 }, () => 'connect');
    const job = submit(scheduler, Array.from({ length: 10 }, (_, i) => i));
    await runUntil(() => scheduler.lanes.size === 3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(launcher.launches).toBe(3);
    expect(pool.status()).toMatchObject({ agents: 3, running: 3 });
    expect(job.status()).toMatchObject({ running: 3, queued: 7 });
  });

  it('retires agents idle for idleTimeout, down to min, and stops them', async () => {
    const { scheduler, pool, launcher } = startPool({ min: 1, idleTimeout: '2s' }, () => 'connect', (t) => ({ ok: t.arg, ms: 10 }));
    const job = submit(scheduler, [1, 2, 3]);
    await runUntil(() => job.finished);
    expect(launcher.launches).toBe(3);
    await vi.advanceTimersByTimeAsync(1500);
    expect(launcher.live).toHaveLength(3); // not idle long enough yet
    await runUntil(() => launcher.live.length === 1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(launcher.agents.filter((a) => a.stopped)).toHaveLength(2);
    expect(pool.status()).toMatchObject({ agents: 1, running: 1, retiring: 0 });
  });

  it('stops launching after three failures in a row and fails its queued tasks LAUNCH_FAILED with the reason', async () => {
    const { scheduler, pool, launcher, failures } = startPool({ max: 1 }, () => ({ fail: 'no route to host fake-host' }));
    const job = submit(scheduler, ['a', 'b']);
    await runUntil(() => job.finished);
    expect(launcher.launches).toBe(3);
    expect(failures.map((f) => f.inARow)).toEqual([1, 2, 3]);
    expect(pool.failure).toBe('pool p stopped launching after 3 failures in a row; last: launch failed: no route to host fake-host');
    expect(results(job).map((r) => !r.ok && r.error)).toEqual([0, 1].map(() => ({ code: 'LAUNCH_FAILED', message: pool.failure, context: { jobId: job.id, pool: 'p' } })));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(launcher.launches).toBe(3); // it gave up: no more tries
  });

  it('counts an agent that ends before it connects as a failed launch, naming its exit and stderr', async () => {
    const { scheduler, pool } = startPool({ max: 1 }, () => ({ exit: 127, stderr: 'node: not found' }));
    const job = submit(scheduler, ['a']);
    await runUntil(() => job.finished);
    expect(pool.failure).toMatch(/after 3 failures in a row; last: agent \S+ on fake-host \(pid 3\) ended before it connected \(exit code 127, \d+ ms after launch\); its stderr: node: not found/);
    expect(results(job)[0]).toMatchObject({ ok: false, error: { code: 'LAUNCH_FAILED' } });
  });

  it('starts a new row of failures once an agent launched after the last one stays connected', async () => {
    // Launches 0 and 1 fail, 2 connects, and every later one fails.
    const { scheduler, pool, failures } = startPool({ max: 2 }, (n) => (n === 2 ? 'connect' : { fail: `no host (${n})` }));
    submit(scheduler, ['a']);
    await runUntil(() => scheduler.lanes.size === 1);
    await vi.advanceTimersByTimeAsync(6000); // connected past the early-exit bound: the pool is healthy
    const more = submit(scheduler, ['b']);
    await runUntil(() => failures.length === 3);
    expect(failures.map((f) => f.inARow)).toEqual([1, 2, 1]);
    expect(pool.failure).toBeUndefined();
    await runUntil(() => pool.failure !== undefined);
    expect(failures.map((f) => f.inARow)).toEqual([1, 2, 1, 2, 3]);
    expect(pool.failure).toMatch(/after 3 failures in a row; last: launch failed: no host \(5\)/);
    expect(more.status()).toMatchObject({ queued: 1 }); // its lane may still take it
  });

  it('takes an agent that crashes long after connecting for a crash, not a failed launch, and replaces it', async () => {
    const { scheduler, pool, launcher, failures } = startPool({ max: 1 }, () => 'connect', (t) => (t.attempt === 1 ? { hold: true } : { ok: t.arg }));
    const job = submit(scheduler, ['a'], { retries: 2 });
    await runUntil(() => scheduler.lanes.size === 1);
    await vi.advanceTimersByTimeAsync(6000);
    launcher.agents[0]!.end({ exitCode: 1, signal: null, stderrTail: 'out of memory' });
    await runUntil(() => job.finished);
    expect(results(job)[0]).toMatchObject({ ok: true, attempt: 2 });
    expect(launcher.launches).toBe(2);
    expect(failures).toEqual([]);
    expect(pool.failure).toBeUndefined();
  });
});
