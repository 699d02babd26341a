/**
 * Chaos: while a job of 10,000 tiny tasks runs, a random connected agent is SIGKILLed every few
 * hundred milliseconds. The pool replaces each one and the tasks it held run again, so the job
 * still yields every result exactly once (as the client sees it and as the controller records
 * it), `await` gives the values in input order, and once the session is closed no agent process
 * it ever started is left running. The job's last tasks wait until the killer has made a few
 * kills, so the chaos happens however fast the machine is. The same holds while the test makes the machine busy itself
 * (CPU-bound and I/O-bound processes beside it): the job slows down but never stalls.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { LaneInfo } from '../../client/index.js';
import { deferred, Reaper, waitGone } from '../lifecycle/helpers.js';
import { until } from '../support/async.js';
import { startLoad } from '../support/load.js';
import type { LoadOptions } from '../support/load.js';
import { newTag, TAG_VAR, waitNoneTagged } from '../support/procs.js';
import { scaled } from '../support/timing.js';
import { countOutcomes, notExactlyOnce, progressing, recordedCounts, trackAgents } from './helpers.js';

const AGENTS = 4;
const KILL_EVERY_MS = 300;
/**
 * Kills at most, and never the last connected agent: on a loaded machine agents restart slower
 * than they die, and the job must still end in bounded time.
 */
const MAX_KILLS = 30;

/** Kills the job must outlive: its last tasks wait for the killer to have made this many. */
const MIN_KILLS = 5;
/** How many of the job's last tasks wait for the kills (more than the agents' slots, so agents hold them). */
const GATED = 16;

/**
 * A task of about 1 ms whose value depends on its input alone. It waits rather than spins, so the
 * test's length does not hang on its share of two shared cores. The last GATED tasks also wait
 * for the file `gate`, which the killer writes once it has made MIN_KILLS kills: a fast machine
 * could otherwise finish the job before the chaos has done anything. (`existsSync` travels in
 * globals by reference, under a name of the closure that vitest's transform leaves alone.)
 */
function tinyTask(gate: string, gateFrom: number, exists: (path: string) => boolean): (x: number) => Promise<number> {
  return async (x) => {
    await new Promise((r) => setTimeout(r, 1));
    if (x >= gateFrom) {
      while (!exists(gate)) await new Promise((r) => setTimeout(r, 20));
    }
    return x * 2 + 1;
  };
}

/**
 * Runs `tasks` tiny tasks under the killer (and `load`, if given). A job may take as long as the
 * machine needs; it fails only if no result comes for `stallMs`.
 */
async function chaos(tasks: number, stallMs: number, load?: LoadOptions): Promise<void> {
  const reaper = new Reaper();
  if (load) {
    const busy = startLoad(load);
    reaper.add(() => busy.stop());
  }
  const tag = newTag();
  const fl = await connect({ pools: { local: { launcher: 'local', agents: AGENTS, env: { [TAG_VAR]: tag } } }, waitForAgents: AGENTS, waitForAgentsTimeoutMs: stallMs });
  reaper.add(() => fl.close());
  const pool = fl.controller!.pools.get('local')!;
  const agents = trackAgents(pool, reaper);

  const items = Array.from({ length: tasks }, (_, i) => i);
  const gate = join(reaper.tempDir('flotilla-chaos-'), 'killed-enough');
  const gateFrom = tasks - GATED;
  const job = fl.map(items, tinyTask(gate, gateFrom, existsSync), { retries: 1000, globals: { gate, gateFrom, exists: existsSync } });
  const jobId = await job.id;

  // The killer: every KILL_EVERY_MS, one connected agent chosen at random, until the job ends.
  const killed: number[] = [];
  let heldTasks = 0;
  const done = deferred();
  let running = true;
  const killer = (async () => {
    while (running && killed.length < MAX_KILLS) {
      await Promise.race([new Promise((r) => setTimeout(r, KILL_EVERY_MS)), done.promise]);
      if (!running) return;
      let lanes: LaneInfo[];
      try {
        lanes = (await fl.agents()).lanes;
      } catch {
        return; // the session closed under us: the test failed and is being cleaned up
      }
      // A killed agent's lane may be listed until its socket's close is seen: not twice.
      lanes = lanes.filter((l) => !killed.includes(l.pid));
      if (lanes.length < 2) continue;
      const victim = lanes[Math.floor(Math.random() * lanes.length)]!;
      try {
        process.kill(victim.pid, 'SIGKILL');
        killed.push(victim.pid);
        if (victim.inFlight > 0) heldTasks++;
        if (killed.length === MIN_KILLS) writeFileSync(gate, '');
      } catch {
        // it ended meanwhile
      }
    }
  })();

  const state = () => {
    const a = fl.controller!.agents();
    return `job under chaos (${killed.length} kills so far; pool ${JSON.stringify(a.pools[0])}; ${a.lanes.length} lane(s); ${fl.controller!.job(jobId).status().queued} queued)`;
  };
  let wrong = 0;
  let counts: Uint32Array;
  try {
    counts = await countOutcomes(progressing(job, stallMs, state), tasks, (o) => {
      if (!(o.ok && o.value === o.index * 2 + 1)) wrong++;
    });
  } finally {
    running = false;
    done.resolve();
    await killer;
  }

  expect(wrong).toBe(0);
  expect(notExactlyOnce(counts)).toEqual([]);
  expect(notExactlyOnce(recordedCounts(fl, jobId))).toEqual([]);
  expect(await job).toEqual(items.map((x) => x * 2 + 1));
  expect(killed.length).toBeGreaterThanOrEqual(MIN_KILLS);
  // The kills cost work: killed agents held tasks, which had to run again.
  expect(heldTasks).toBeGreaterThan(0);
  // A killed agent is not a failed launch: the pool is healthy and full again.
  expect((await fl.agents()).pools[0]!.failure).toBeUndefined();
  await until(async () => (await fl.agents()).lanes.length === AGENTS, stallMs);

  const pids = await agents.pids();
  expect(pids.length).toBeGreaterThanOrEqual(AGENTS + killed.length);
  await fl.close();
  // close() waits for its agents to exit: none may still run once it has returned, including
  // any it never reported (the tag is in every agent's environment).
  await waitGone(pids, 1_000, 'agents after close');
  await waitNoneTagged(tag, 1_000, 'tagged agents after close');
}

describe('chaos', () => {
  it('SIGKILLing random agents all through a 10,000-task job loses no result and reports none twice', { timeout: scaled(120_000) }, async () => {
    await chaos(10_000, scaled(15_000));
  });

  it('under CPU and I/O load, a job under chaos slows down but never stalls', { timeout: 300_000 }, async () => {
    // Each connected agent is killed within a second or so while replacements take seconds to
    // start: most of the job runs on one or two agents, at a few dozen tasks a second.
    await chaos(1_000, 60_000, { cpu: 4, io: 2 });
  });
});
