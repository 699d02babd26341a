/**
 * A poisonous task: one that kills whichever agent runs it. Re-running it on every agent would
 * take the pool down one agent at a time for as long as its retries last, so after `crashLimit`
 * lost agents it fails with POISONOUS, however many retries are left. The crashes are charged to
 * it alone, the rest of its job completes, and the pool goes on working.
 *
 * A crash can only be charged to a task the controller knows was in the slot. Tiny tasks run
 * many per event-loop turn and their results leave together, so when an agent holding several
 * dies no one is charged and each re-runs alone; that first run is the one a poisonous task
 * may get uncounted, hence "at most one more" below.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { MapOptions, TaskContext, TaskOutcome } from '../../client/index.js';
import { Reaper, tempDir, waitGone, within } from '../lifecycle/helpers.js';
import { until } from '../support/async.js';
import { trackAgents } from './helpers.js';

/** Shipped to the agents in `globals`. */
declare const poison: number, marks: string, killsBefore: number;

const TASKS = 300;
const POISON = 123;

/** x * 2 + 1, except that task POISON kills its agent while its attempt is below `killsBefore`, noting each run. */
function maybePoison(x: number, ctx: TaskContext): number {
  if (x === poison && ctx.attempt < killsBefore) {
    const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
    fs.appendFileSync(marks, `${process.pid}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
  return x * 2 + 1;
}

/** A session of two agents, and a job of TASKS tiny tasks, one of them poisonous; `opts` add to its map options. */
async function poisonedJob(opts: Record<string, unknown>, killsBefore = Infinity) {
  const reaper = new Reaper();
  const marksFile = join(tempDir(reaper), 'runs');
  writeFileSync(marksFile, '');
  const fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2 });
  reaper.add(() => fl.close());
  const agents = trackAgents(fl.controller!.pools.get('local')!, reaper);
  // Cast: `crashLimit` type-checks before the option exists everywhere.
  const mapOpts = { ...opts, globals: { poison: POISON, marks: marksFile, killsBefore } } as MapOptions;
  const job = fl.map(Array.from({ length: TASKS }, (_, i) => i), maybePoison, mapOpts);
  const out = await within(job.outcomes(), 20_000, 'job with a task that kills its agent');
  return {
    fl,
    job,
    out,
    /** Runs of the poisonous task that killed an agent, by the agent's pid. */
    kills: () => readFileSync(marksFile, 'utf8').split('\n').filter(Boolean),
    /** Closes the session and checks that every agent it had is gone. */
    async close() {
      const pids = await agents.pids();
      await fl.close();
      await waitGone(pids, 5_000, 'agents after close');
    },
  };
}

/** Every outcome but the poisonous task's is its correct value. */
function othersCorrect(out: TaskOutcome<number>[]): void {
  expect(out).toHaveLength(TASKS);
  const wrong = out.filter((o) => o.index !== POISON && !(o.ok && o.value === o.index * 2 + 1));
  expect(wrong.map((o) => `${o.index}: ${o.ok ? o.value : o.error.code}`)).toEqual([]);
}

describe('poisonous tasks', () => {
  it('a crash is charged to the task that caused it, not to tiny tasks that finished just before it on the same agent', async () => {
    const { out, kills, close } = await poisonedJob({ retries: 1 });
    othersCorrect(out);
    const bad = out[POISON]!;
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    // AGENT_LOST once its retries are spent (POISONOUS, should the default crashLimit be lower).
    expect(['AGENT_LOST', 'POISONOUS']).toContain(bad.error.code);
    const attempt = bad.error.context.attempt!;
    expect(attempt).toBeLessThanOrEqual(2);
    expect(kills().length).toBeGreaterThanOrEqual(attempt);
    expect(kills().length).toBeLessThanOrEqual(attempt + 1);
    await close();
  });

  it('a task that kills its agent on every attempt fails POISONOUS after exactly crashLimit attempts; the rest of the job completes', async () => {
    const { fl, job, out, kills, close } = await poisonedJob({ retries: 10, crashLimit: 3 });
    othersCorrect(out);
    const bad = out[POISON]!;
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.code).toBe('POISONOUS');
    expect(bad.error.context.attempt).toBe(3);
    expect(bad.error.context.taskIndex).toBe(POISON);
    // Three counted crashes, each of a different agent; at most one more, uncounted (see top).
    expect(kills().length).toBeGreaterThanOrEqual(3);
    expect(kills().length).toBeLessThanOrEqual(4);
    expect(new Set(kills()).size).toBe(kills().length);
    await expect(job).rejects.toMatchObject({ code: 'POISONOUS' });

    // The pool replaced the agents it lost, is not marked failed, and runs the next job.
    await until(async () => (await fl.agents()).lanes.length === 2);
    expect((await fl.agents()).pools[0]!.failure).toBeUndefined();
    expect(await within(Promise.resolve(fl.map([1, 2, 3], (x: number) => x * 2 + 1)), 10_000, 'map after the poisonous job')).toEqual([3, 5, 7]);
    await close();
  });

  it('below crashLimit a task whose agents died is retried: one that kills two agents succeeds on its third attempt', async () => {
    const { out, kills, close } = await poisonedJob({ retries: 10, crashLimit: 3 }, 3);
    othersCorrect(out);
    expect(out[POISON]).toMatchObject({ index: POISON, ok: true, value: POISON * 2 + 1, attempt: 3 });
    expect(kills().length).toBeGreaterThanOrEqual(2);
    expect(kills().length).toBeLessThanOrEqual(3);
    await close();
  });
});
