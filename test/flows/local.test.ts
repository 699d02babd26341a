/**
 * Flows end to end on real local agents: the shapes of parade's SLURM vignette (grouped by
 * subject; 1000 trials in chunks; dev then production grid reusing the cache), a failing stage,
 * a failing command, preflight reporting every problem at once, progress in status.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connect, flow, paramGrid } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { rejection } from '../support/async.js';

let fl: Session;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-flows-'));
  // Slots of 4 cores, so units that run 2 or 4 rows at once fit (they require cores = workersWithin).
  fl = await connect({ pools: { local: { launcher: 'local', agents: 2, cores: 4 } }, controller: { flowCache: join(dir, 'flows.db') } });
});
afterAll(async () => {
  await fl?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('flows on local agents', () => {
  it('runs the 12-row subject/session/condition grid grouped by subject: 3 units, each row right', async () => {
    const grid = paramGrid({ subject: ['s01', 's02', 's03'], session: [1, 2], condition: ['A', 'B'] });
    const load = (subject: string, session: number) => `${subject}/${session}`;
    const fit = (data: string, condition: string) => data.length * (condition === 'A' ? 1 : 2);
    const f = fl
      .flow(grid)
      .stage('pre', ({ subject, session }) => ({ data: load(subject, session), pid: process.pid }), { globals: { load } })
      .stage('fit', ({ pre, condition }) => ({ score: fit(pre.data, condition), pid: process.pid }), { needs: ['pre'], globals: { fit } })
      .distribute({ by: ['subject'], workersWithin: 2 });
    const h = await f.submit();
    const rows = await h.collect({ progress: false });
    expect(rows).toHaveLength(12);
    rows.forEach((r, i) => {
      expect(r).toMatchObject({ ...grid[i], status: 'ok' });
      expect(r.pre?.data).toBe(`${grid[i]!.subject}/${grid[i]!.session}`);
      expect(r.fit?.score).toBe(`${grid[i]!.subject}/${grid[i]!.session}`.length * (grid[i]!.condition === 'A' ? 1 : 2));
    });
    const s = await h.status();
    expect(s).toMatchObject({ state: 'done', rows: 12, rowsFinished: 12, rowsFailed: 0, plan: { units: 3, rowsPerUnit: [4, 4, 4] } });
    expect(s.stages.map((p) => [p.name, p.done, p.failed, p.running, p.queued])).toEqual([['pre', 12, 0, 0, 0], ['fit', 12, 0, 0, 0]]);
    // A unit is one task: the rows of one subject ran in one agent process.
    for (const subject of ['s01', 's02', 's03']) expect(new Set(rows.filter((r) => r.subject === subject).map((r) => r.pre!.pid)).size).toBe(1);
  }, 60_000);

  it('runs 1000 trials by subject in chunks of 100 with 4 workers: 10 units, all rows right', async () => {
    const grid = paramGrid({ subject: ['subject01'], trial: Array.from({ length: 1000 }, (_, i) => i + 1) });
    const h = await fl
      .flow(grid)
      .stage('sim', async ({ trial }) => ({ value: trial * trial }))
      .distribute({ by: ['subject'], chunksPerJob: 100, workersWithin: 4 })
      .submit();
    const rows = await h.collect({ progress: false });
    const s = await h.status();
    expect(s.plan.units).toBe(10);
    expect(s.plan.rowsPerUnit).toEqual(Array(10).fill(100));
    expect(rows.map((r) => r.status === 'ok' && r.sim.value)).toEqual(grid.map((g) => g.trial * g.trial));
  }, 90_000);

  it('reuses the dev grid outputs when the production grid (a superset) runs', async () => {
    const runs = join(dir, 'runs.log');
    const preprocess = ({ subject, run }: { subject: string; run: number }) => {
      (process.getBuiltinModule('node:fs') as typeof import('node:fs')).appendFileSync(runs, `pre ${subject} ${run}\n`);
      return { mean: subject.length + run };
    };
    const analyze = ({ preprocess: p, alpha }: { preprocess: { mean: number }; alpha: number }) => {
      (process.getBuiltinModule('node:fs') as typeof import('node:fs')).appendFileSync(runs, `analyze ${p.mean} ${alpha}\n`);
      return { score: p.mean * alpha };
    };
    const build = (grid: { subject: string; run: number; alpha: number }[]) =>
      flow(grid, { session: fl })
        .stage('preprocess', (r) => preprocess(r), { globals: { preprocess, runs } })
        .stage('analyze', (r) => analyze(r), { needs: ['preprocess'], globals: { analyze, runs } })
        .distribute({ by: ['subject'] });
    const dev = paramGrid({ subject: ['s1'], run: [1, 2], alpha: [0.5] });
    const prod = paramGrid({ subject: ['s1', 's2', 's3'], run: [1, 2], alpha: [0.5] });
    const devRows = await build(dev).collect({ progress: false });
    expect(devRows.every((r) => r.status === 'ok' && !r.cached)).toBe(true);
    expect(readFileSync(runs, 'utf8').trim().split('\n')).toHaveLength(4);

    const h = await build(prod).submit();
    const prodRows = await h.collect({ progress: false });
    expect(prodRows.map((r) => r.status === 'ok' && r.analyze.score)).toEqual(prod.map((g) => (g.subject.length + g.run) * g.alpha));
    expect(prodRows.map((r) => r.cached ?? false)).toEqual([true, true, false, false, false, false]);
    // Only the 4 new rows ran, each stage once.
    const lines = readFileSync(runs, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4 + 8);
    expect(lines.filter((l) => l === 'pre s1 1')).toHaveLength(1);
    const s = await h.status();
    expect(s.plan).toMatchObject({ units: 2, cachedRows: 2 });
    expect(s.stages.map((p) => [p.name, p.done, p.cached])).toEqual([['preprocess', 6, 2], ['analyze', 6, 2]]);
  }, 90_000);

  it('a failing stage fails its row with its error, skips what needs it, and the other rows go on', async () => {
    const grid = paramGrid({ x: [1, 2, 3, 4] });
    const rows = await fl
      .flow(grid)
      .stage('a', ({ x }) => {
        if (x === 3) throw new RangeError(`bad x ${x}`);
        return x * 10;
      })
      .stage('b', ({ a }) => a + 1, { needs: ['a'] })
      .stage('c', ({ x }) => -x)
      .collect({ progress: false });
    expect(rows.map((r) => r.status)).toEqual(['ok', 'ok', 'failed', 'ok']);
    const bad = rows[2]!;
    expect(bad.error).toMatchObject({ stage: 'a', code: 'TASK_ERROR', name: 'RangeError', message: 'bad x 3' });
    expect(bad.b).toBeUndefined();
    expect(bad.c).toBe(-3); // a stage that does not need the failed one still ran
    expect(rows[3]).toMatchObject({ x: 4, a: 40, b: 41, c: -4, status: 'ok' });
  }, 60_000);

  it('a command stage that exits non-zero fails its row with the exit code and the stderr tail', async () => {
    const rows = await fl
      .flow([{ code: 0 }, { code: 3 }])
      .command('sh', [process.execPath, '-e', 'console.log("out {code}"); console.error("oops {code}"); process.exit({code})'])
      .collect({ progress: false });
    expect(rows[0]).toMatchObject({ status: 'ok', sh: { exitCode: 0 } });
    expect(rows[0]!.sh?.stdout).toContain('out 0');
    expect(rows[1]).toMatchObject({ status: 'failed', error: { stage: 'sh', code: 'COMMAND_FAILED' } });
    expect(rows[1]!.error?.context).toMatchObject({ exitCode: 3 });
    expect(String(rows[1]!.error?.context?.stderrTail)).toContain('oops 3');
  }, 60_000);

  it('checks a declared output schema on the agent and types the output', async () => {
    const rows = await fl
      .flow([{ v: 1 }, { v: -1 }])
      .stage('s', ({ v }) => ({ score: v > 0 ? v : 'negative' as unknown as number }), { output: z.object({ score: z.number() }) })
      .collect({ progress: false });
    expect(rows[0]).toMatchObject({ status: 'ok', s: { score: 1 } });
    expect(rows[1]).toMatchObject({ status: 'failed', error: { stage: 's' } });
  }, 60_000);

  it('preflight reports every problem at once, with its stage and row', async () => {
    const k = 2;
    const grid: Record<string, unknown>[] = [{ a: 1 }, { a: 2, f: () => 1 }, { b: 3 }];
    const f = fl
      .flow(grid)
      .stage('uses', ({ a }) => (a as number) * k)
      .command('cmd', ['echo', '{a}', '{uses.nope}', '{missing}'], { needs: ['uses'] })
      .distribute({ pool: 'gpu', by: ['a'] });
    const err = await rejection(f.preflight());
    expect(err.code).toBe('BAD_INPUT');
    const problems = err.context.problems as { stage?: string; row?: number; message: string }[];
    expect(problems).toEqual(expect.arrayContaining([
      expect.objectContaining({ stage: 'uses', message: expect.stringMatching(/"k"/) }),
      expect.objectContaining({ row: 1, message: expect.stringMatching(/row 1\.f is a function/) }),
      expect.objectContaining({ stage: 'cmd', row: 2, message: expect.stringMatching(/\{a\}/) }),
      expect.objectContaining({ stage: 'cmd', row: 0, message: expect.stringMatching(/\{missing\}.*no row has it/) }),
      expect.objectContaining({ row: 2, message: expect.stringMatching(/distribute.by names column "a"/) }),
      expect.objectContaining({ message: expect.stringMatching(/no pool named "gpu"/) }),
    ]));
    expect(err.message).toMatch(/stage "uses"/);
    expect(err.message).toMatch(/row 1/);
    // The same problems stop submit and collect before anything is sent.
    const before = (await fl.jobs()).length;
    expect((await rejection(f.collect({ progress: false }))).context.problems).toEqual(problems);
    expect((await fl.jobs()).length).toBe(before);
  }, 60_000);

  it('build-time mistakes are BAD_INPUT naming the stage', () => {
    const f = flow([{ a: 1 }], { session: fl }).stage('s', ({ a }) => a);
    expect(() => f.stage('s', () => 1)).toThrow(/stage "s" is defined twice/);
    // @ts-expect-error needs must name an earlier stage
    expect(() => f.stage('t', () => 1, { needs: ['u'] })).toThrow(/stage "t" needs "u", which is not a stage defined before it/);
    expect(() => f.stage('status', () => 1)).toThrow(/reserved/);
    expect(() => f.distribute({ chunksPerJob: 0 })).toThrow(/distribute options: chunksPerJob/);
  });

  it('a pool that cannot give a unit workersWithin cores is a preflight problem', async () => {
    const err = await rejection(fl.flow([{ a: 1 }]).stage('s', ({ a }) => a).distribute({ workersWithin: 64 }).submit());
    expect(err.message).toMatch(/cores 64.*workersWithin = 64/s);
  });

  it('a cancelled flow: collect rejects with CANCELLED, its rows end skipped, status says so', async () => {
    const h = await fl
      .flow(paramGrid({ x: [1, 2, 3, 4, 5, 6] }))
      .stage('wait', async ({ x }, ctx) => {
        if (x > 1) await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
        return x;
      })
      .submit();
    const collecting = h.collect({ progress: false });
    // Row 1 finishes; the others wait until cancelled.
    for await (const s of watch(h.id)) if (s.stages[0]!.done === 1) break;
    expect(await h.cancel()).toEqual({ cancelled: true });
    expect((await rejection(collecting)).code).toBe('CANCELLED');
    const s = await h.status();
    expect(s.state).toBe('cancelled');
    expect(s.stages[0]).toMatchObject({ done: 1, skipped: 5, running: 0, queued: 0 });
    const rows = await fl.api.flow.collect.query({ id: h.id, from: 0, max: 10 });
    expect(rows.total).toBe(6);
  }, 60_000);
});

/** Statuses of a flow as they come (the progress subscription as an async iterable). */
async function* watch(id: string) {
  const queue: import('../../client/index.js').FlowStatus[] = [];
  let wake: (() => void) | undefined;
  const sub = fl.api.flow.progress.subscribe({ id }, { onData: (s) => { queue.push(s); wake?.(); } });
  try {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      yield queue.shift()!;
    }
  } finally {
    sub.unsubscribe();
  }
}
