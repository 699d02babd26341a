/**
 * The `flow-unit` builtin on worker threads and in child processes, run by the BUNDLED agent
 * (dist/agent.mjs, `npm run build` first) behind a real embedded controller: the same results
 * as inline, the right number of threads or processes, never more than `workersWithin` at once,
 * crashes confined to their row, and nothing left running after a cancel.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import type { FlowUnitResult, StageOutcome, Within } from '../../contract/flow-unit.js';
import { waitGone } from '../lifecycle/helpers.js';
import { until } from '../support/async.js';
import { cmdStage, fnStage, rowsOf, submitUnit, unitFn, unitSpec } from './helpers.js';

const NODE = process.execPath;

let fl: Session;
beforeAll(async () => {
  fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } }, waitForAgents: 1 });
}, 60_000);
afterAll(() => fl?.close());

const value = (o: StageOutcome | undefined): any => (o?.ok ? o.value : expect.fail(`stage failed: ${JSON.stringify(o)}`));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flow-modes-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A stage that says where it ran and when. Rows given a `barrier` folder wait there until
 * `barrierOf` rows have arrived, which proves that many run at the same time.
 */
const whereStage = fnStage('where', async (r: { barrier?: string; barrierOf?: number; ms?: number }) => {
  const start = performance.timeOrigin + performance.now();
  const wt = process.getBuiltinModule('node:worker_threads');
  if (r.barrier) {
    const fs = process.getBuiltinModule('node:fs');
    fs.writeFileSync(`${r.barrier}/${process.pid}-${wt.threadId}-${Math.random()}`, '');
    while (fs.readdirSync(r.barrier).length < (r.barrierOf ?? 1)) await new Promise((res) => setTimeout(res, 10));
  }
  await new Promise((res) => setTimeout(res, r.ms ?? 30));
  return { pid: process.pid, threadId: wt.threadId, start, end: performance.timeOrigin + performance.now() };
});

type Where = { pid: number; threadId: number; start: number; end: number };
const maxOverlap = (spans: Array<{ start: number; end: number }>): number => Math.max(...spans.map((s) => spans.filter((o) => o.start <= s.start && o.end > s.start).length));

describe('flow-unit on threads and processes (bundled agent)', () => {
  it('threads: rows run on at most workersWithin distinct worker threads, handed out as they free up', async () => {
    const barrier = tempDir();
    const rows = rowsOf(Array.from({ length: 7 }, (_x, i) => (i < 3 ? { barrier, barrierOf: 3 } : { ms: 20 })));
    const res = await submitUnit(fl, unitSpec([whereStage], 'threads', 3), { rows }).result;
    const where = res.map((r) => value(r.stages.where) as Where);
    expect(res.map((r) => r.row)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const firstThree = new Set(where.slice(0, 3).map((w) => w.threadId));
    expect(firstThree.size).toBe(3);
    expect(new Set(where.map((w) => w.threadId))).toEqual(firstThree);
    expect(new Set(where.map((w) => w.pid)).size).toBe(1); // threads of the agent itself
    expect(maxOverlap(where)).toBeLessThanOrEqual(3);
  });

  it('process: each group runs in its own process, its rows one after another, at most workersWithin at once', async () => {
    const barrier = tempDir();
    // Groups 0 and 1 meet at the barrier (two processes at once); group 2 waits for a free slot.
    const rows = rowsOf([{ barrier, barrierOf: 2 }, { barrier, barrierOf: 2 }, {}, {}, {}, {}], (i) => [0, 1, 0, 1, 2, 2][i]!);
    const res = await submitUnit(fl, unitSpec([whereStage], 'process', 2), { rows }).result;
    const where = res.map((r) => value(r.stages.where) as Where);
    const pidOf = (g: number) => new Set(where.filter((_w, i) => rows[i]!.group === g).map((w) => w.pid));
    for (const g of [0, 1, 2]) expect(pidOf(g).size).toBe(1);
    const pids = [0, 1, 2].map((g) => [...pidOf(g)][0]);
    expect(new Set(pids).size).toBe(3);
    expect(pids).not.toContain(process.pid);
    // Within a group, one row at a time; across groups never more than two processes.
    for (const g of [0, 1, 2]) expect(maxOverlap(where.filter((_w, i) => rows[i]!.group === g))).toBe(1);
    const groupSpans = [0, 1, 2].map((g) => {
      const ws = where.filter((_w, i) => rows[i]!.group === g);
      return { start: Math.min(...ws.map((w) => w.start)), end: Math.max(...ws.map((w) => w.end)) };
    });
    expect(maxOverlap(groupSpans)).toBe(2);
  });

  it('gives the same results inline, on threads and in processes', async () => {
    const stages = [
      fnStage('pre', (r: { x: number }) => {
        if (r.x === 2) throw new TypeError('no twos');
        return { y: r.x * 2, at: new Date(0), tags: new Set(['a']) };
      }),
      cmdStage('cmd', [NODE, '-e', 'console.log(process.argv.slice(1).join(","))', '--', '{x}', '{pre.y}'], { needs: ['pre'] }),
      fnStage('fit', (r: { cmd: { stdout: string }; pre: { y: number } }) => ({ score: r.cmd.stdout.trim(), y: r.pre.y }), { needs: ['cmd', 'pre'], output: { type: 'object', properties: { score: { type: 'string' } }, required: ['score'] } }),
      fnStage('loose', (r: { x: number }) => (r.x === 3 ? { score: 1 } : r.x), { output: { type: 'number' } }),
    ];
    const input = { rows: rowsOf([{ x: 1 }, { x: 2 }, { x: 3 }, { x: 4 }], (i) => i % 2) };
    input.rows[3]!.done = { pre: { y: 100, at: new Date(0), tags: new Set(['b']) } };
    const strip = (res: FlowUnitResult) =>
      res.map((r) => ({ row: r.row, stages: Object.fromEntries(Object.entries(r.stages).map(([k, o]) => [k, o.ok ? { ok: true, value: stripMs(o.value), cached: o.cached } : { ok: false, code: o.error.code, message: o.error.message, name: o.error.name }])) }));
    const inline = strip(await unitFn(stages)(input));
    expect(inline[3]!.stages.cmd).toMatchObject({ ok: true, value: { stdout: '4,100\n' } });
    expect(inline[1]!.stages.pre).toMatchObject({ ok: false, code: 'TASK_ERROR', name: 'TypeError' });
    expect(inline[2]!.stages.loose).toMatchObject({ ok: false, code: 'BAD_INPUT' });
    for (const within of ['threads', 'process'] as Within[]) {
      const got = strip(await submitUnit(fl, unitSpec(stages, within, 2), input).result);
      expect(got, within).toEqual(inline);
    }
  });

  for (const within of ['threads', 'process'] as Within[]) {
    it(`${within}: a worker that dies fails its row's stage naming how, and the other rows go on`, async () => {
      const stages = [
        fnStage('pre', (r: { x: number }) => r.x),
        fnStage('boom', (r: { x: number }) => (r.x === 1 ? process.exit(7) : r.x * 10), { needs: ['pre'] }),
        fnStage('after', (r: { boom: number }) => r.boom + 1, { needs: ['boom'] }),
        fnStage('other', () => 'o'),
      ];
      // One group: in process mode the dead worker's remaining rows need a new process.
      const res = await submitUnit(fl, unitSpec(stages, within, 1), { rows: rowsOf([{ x: 0 }, { x: 1 }, { x: 2 }], () => 0) }).result;
      expect(value(res[0]!.stages.after)).toBe(1);
      expect(value(res[2]!.stages.after)).toBe(21);
      const dead = res[1]!.stages;
      expect(value(dead.pre)).toBe(1);
      expect(dead.boom).toMatchObject({ ok: false, error: { code: 'TASK_ERROR', message: expect.stringMatching(new RegExp(`^flow worker ${within === 'threads' ? 'thread' : 'process'} \\d+ exited with code 7 while running stage "boom" of row 1$`)) } });
      expect(dead.after).toMatchObject({ ok: false, error: { code: 'SKIPPED', message: 'not run: stage "boom" failed' } });
      expect(dead.other).toMatchObject({ ok: false, error: { code: 'SKIPPED' } });
    });

    it(`${within}: a stage stuck past its timeoutMs ends its worker, and the other rows go on`, async () => {
      const stages = [
        fnStage('spin', (r: { x: number }) => {
          while (r.x === 1) {} // never yields: only ending the worker stops it
          return r.x;
        }, { timeoutMs: 200 }),
        fnStage('after', (r: { spin: number }) => r.spin + 1, { needs: ['spin'] }),
      ];
      const res = await submitUnit(fl, unitSpec(stages, within, 1), { rows: rowsOf([{ x: 0 }, { x: 1 }, { x: 2 }], () => 0) }).result;
      expect(res.map((r) => (r.stages.after?.ok ? r.stages.after.value : r.stages.spin?.ok === false && r.stages.spin.error.code))).toEqual([1, 'TIMEOUT', 3]);
      expect(res[1]!.stages.spin).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^stage "spin" timed out after 200 ms; it did not stop, so flow worker (thread|process) \d+ was ended$/) } });
    });

    it(`${within}: cancelling the job stops every worker and command`, async () => {
      const dir = tempDir();
      // Each command leaves "<its pid>-<its parent's pid>" and ignores SIGTERM.
      const sleeper = 'process.on("SIGTERM", () => {}); require("fs").writeFileSync(process.argv[1] + "/" + process.pid + "-" + process.ppid, ""); setTimeout(() => {}, 60000)';
      const { jobId, result } = submitUnit(fl, unitSpec([cmdStage('sleep', [NODE, '-e', sleeper, '{dir}'])], within, 2), { rows: rowsOf([{ dir }, { dir }, { dir }]) });
      result.catch(() => {});
      await until(() => readdirSync(dir).length === 2, 20_000);
      const pids = readdirSync(dir).flatMap((f) => f.split('-').map(Number));
      // A command's parent is the agent (threads) or a flow worker process whose parent is the agent.
      const agentPid = within === 'threads' ? pids[1]! : Number(readFileSync(`/proc/${pids[1]}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      await fl.cancel(jobId);
      await expect(result).rejects.toMatchObject({ code: 'CANCELLED' });
      // Commands, and in process mode their worker processes; never the agent itself.
      const gone = within === 'process' ? pids : pids.filter((_p, i) => i % 2 === 0);
      await waitGone(gone, 5000, `${within} workers and commands after cancel`);
      expect(() => process.kill(agentPid, 0)).not.toThrow();
    });
  }

  // Last: it kills the session's agent (the pool starts another).
  it('process: an agent killed outright takes its flow workers and their commands with it', async () => {
    const dir = tempDir();
    const sleeper = 'process.on("SIGTERM", () => {}); require("fs").writeFileSync(process.argv[1] + "/" + process.pid + "-" + process.ppid, ""); setTimeout(() => {}, 60000)';
    const { result } = submitUnit(fl, unitSpec([cmdStage('sleep', [NODE, '-e', sleeper, '{dir}'])], 'process', 2), { rows: rowsOf([{ dir }, { dir }]) });
    result.catch(() => {});
    await until(() => readdirSync(dir).length === 2, 20_000);
    const pids = readdirSync(dir).flatMap((f) => f.split('-').map(Number));
    const agentPid = Number(readFileSync(`/proc/${pids[1]}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    process.kill(agentPid, 'SIGKILL');
    // The workers see their IPC channel close, stop their rows (SIGKILL after the grace) and exit.
    await waitGone(pids, 5000, 'flow workers and commands of a killed agent');
  });
});

/** Command outputs carry a duration; everything else must match exactly. */
function stripMs(v: unknown): unknown {
  if (v && typeof v === 'object' && 'durationMs' in v) return { ...v, durationMs: 0 };
  return v;
}
