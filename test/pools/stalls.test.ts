/**
 * No stalls: tasks that wait while no agent can take them make progress or fail, naming why,
 * within a bounded time. A launch that never connects is a failed launch however it ends; a pool
 * that gave up fails the tasks that still wait once its last lane is gone; and a job's status
 * says why its queued tasks are not running.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { FlotillaError, TaskOutcome } from '../../client/index.js';
import { deferred, Reaper, waitGone, within } from '../lifecycle/helpers.js';
import { scaled } from '../support/timing.js';
import { sampler } from './helpers.js';

/** Runs before the agent's code: exits with code 3 while the marker file exists, as a broken install would. */
const refuseIfMarked = (marker: string) =>
  `--import data:text/javascript;base64,${Buffer.from(`import{existsSync}from'node:fs';if(existsSync(${JSON.stringify(marker)})){console.error('broken install: refusing to start');process.exit(3)}`).toString('base64')}`;

describe('no stalls', () => {
  it('an agent that exits cleanly before it connects is a failed launch: the pool stops and the map fails with LAUNCH_FAILED and the reason', async () => {
    const reaper = new Reaper();
    // `true` exits 0 at once, like an agent that gives up on a controller it cannot reach.
    const fl = await connect({ pools: { gone: { launcher: 'local', agents: 1, node: '/bin/true' } } });
    reaper.add(() => fl.close());
    const pool = fl.controller!.pools.get('gone')!;
    const outcomes: TaskOutcome<number>[] = [];
    // Before: each clean exit reset the failure count and the pool relaunched forever, the map waiting.
    await within((async () => { for await (const o of fl.map([1, 2, 3], (x: number) => x)) outcomes.push(o); })(), 30_000, 'map on a pool whose agents exit before connecting');
    expect(outcomes).toHaveLength(3);
    for (const o of outcomes) {
      expect(o.ok).toBe(false);
      const e = (o as { error: FlotillaError }).error;
      expect(e.code).toBe('LAUNCH_FAILED');
      expect(e.message).toBe(pool.failure);
    }
    expect(pool.failure).toMatch(/^pool gone stopped launching after 3 failures in a row; last: agent \S+ on \S+ \(pid \d+\) ended before it connected \(exit code 0, \d+ ms after launch\)/);
    // A new map is refused at once, with the same reason.
    await expect(fl.map([1], (x: number) => x)).rejects.toMatchObject({ code: 'LAUNCH_FAILED', message: expect.stringContaining('pool gone stopped launching') });
  }, scaled(60_000));

  it('a pool that gave up while a lane still worked fails the tasks left waiting once that lane is gone', async () => {
    const reaper = new Reaper();
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-stalls-'));
    reaper.add(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'broken');
    const fl = await connect({ pools: { half: { launcher: 'local', min: 1, max: 3, slots: 1, env: { NODE_OPTIONS: refuseIfMarked(marker) } } }, waitForAgents: 1 });
    reaper.add(() => fl.close());
    const pool = fl.controller!.pools.get('half')!;
    const s = sampler(pool);
    reaper.add(() => s.stop());
    const [first] = (await fl.agents()).lanes;
    reaper.pid(first!.pid);
    writeFileSync(marker, ''); // from now on, every launch fails before it connects

    const job = fl.map(Array.from({ length: 40 }, (_, i) => i), async (x: number) => {
      await new Promise((r) => setTimeout(r, 500));
      return x;
    });
    const jobId = await job.id;
    await s.until((p) => p.failure !== undefined, 30_000, 'the pool giving up');
    // The first agent still takes work: the tasks wait for it, and status says nothing is wrong.
    const mid = await fl.status(jobId);
    expect(mid.state).toBe('running');
    expect(mid.waiting).toBeUndefined();

    process.kill(first!.pid, 'SIGKILL');
    // Before: the pool never relaunched and nothing failed the queued tasks: the job waited forever.
    const outcomes = await within(job.outcomes(), 30_000, 'tasks of a failed pool after its last lane went');
    const failed = outcomes.filter((o) => !o.ok).map((o) => (o as { error: FlotillaError }).error);
    expect(failed.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.ok).length + failed.length).toBe(40);
    for (const e of failed) {
      expect(e.code).toBe('LAUNCH_FAILED');
      expect(e.message).toBe(pool.failure);
    }
    expect(pool.failure).toMatch(/stopped launching after \d+ failures in a row; last: agent \S+ .*ended before it connected \(exit code 3.*broken install: refusing to start/);
    await waitGone([...s.pids], 10_000, 'agents of the failed pool');
  }, scaled(90_000));

  it("a job's status says why its queued tasks wait while no agent takes work", async () => {
    const reaper = new Reaper();
    // Hangs before the agent's code runs, so the agent never dials: stopped after connectTimeout.
    const hang = Buffer.from('console.error("hanging before dialing");await new Promise(()=>setInterval(()=>{},60000))').toString('base64');
    const failedOnce = deferred();
    const fl = await connect({
      pools: { slow: { launcher: 'local', agents: 1, connectTimeout: '1s', env: { NODE_OPTIONS: `--import data:text/javascript;base64,${hang}` } } },
      controller: { log: (l) => (/did not connect within 1000 ms \(connectTimeout\); its stderr/.test(l) ? failedOnce.resolve() : undefined) },
    });
    reaper.add(() => fl.close());
    const pool = fl.controller!.pools.get('slow')!;
    const s = sampler(pool);
    reaper.add(() => s.stop());
    const job = fl.map([1, 2], (x: number) => x);
    const jobId = await job.id;
    const first = await fl.status(jobId);
    expect(first).toMatchObject({ state: 'running', queued: 2 });
    // Starting its first agent (or, on a slow machine, already past its 1 s connectTimeout).
    expect(first.waiting).toMatch(/^pool slow(: 1 agent\(s\) starting| launches again soon after 1 failed launch)/);

    await within(failedOnce.promise, 30_000, 'the first connect timeout');
    // Backing off, or starting the next agent: either way the status names the failed launch.
    const later = await fl.status(jobId);
    // (On a loaded machine the agent may not have said anything on stderr within its 1 s.)
    if (later.state === 'running') expect(later.waiting).toMatch(/did not connect within 1000 ms \(connectTimeout\); its stderr: /);
    await job.then(() => undefined, () => undefined);
    expect((await fl.status(jobId)).waiting).toBeUndefined();
    expect((await fl.agents()).pools[0]!.failure).toMatch(/stopped launching after 3 failures/);
    await waitGone([...s.pids], 10_000, 'timed-out agents');
  }, scaled(90_000));
});
