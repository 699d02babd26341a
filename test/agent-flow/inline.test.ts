/**
 * The `flow-unit` builtin in inline mode, called directly: stages in dependency order, failures
 * and what they skip, cached stages, output schemas, command stages, timeouts and abort.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import type { CommandOutput, StageOutcome } from '../../contract/flow-unit.js';
import { isGone, waitGone } from '../lifecycle/helpers.js';
import { rejection, until } from '../support/async.js';
import { cmdStage, fnStage, rowsOf, unitFn } from './helpers.js';

const NODE = process.execPath;
/** A command that leaves its pid in a folder, ignores SIGTERM and waits a minute. */
const SLEEPER = 'process.on("SIGTERM", () => {}); require("fs").writeFileSync(process.argv[1] + "/" + process.pid, ""); setTimeout(() => {}, 60000)';
const value = (o: StageOutcome | undefined): unknown => (o?.ok ? o.value : expect.fail(`stage failed: ${JSON.stringify(o)}`));
const error = (o: StageOutcome | undefined) => (o && !o.ok ? o.error : expect.fail(`stage did not fail: ${JSON.stringify(o)}`));

describe('flow-unit inline', () => {
  it('runs stages in dependency order with params and needed outputs as input', async () => {
    const unit = unitFn([
      fnStage('pre', (r: { x: number }) => ({ y: r.x * 2 })),
      fnStage('fit', (r: { x: number; pre: { y: number } }) => r.pre.y + r.x, { needs: ['pre'] }),
      fnStage('report', (r: { fit: number; pre: { y: number }; x: number }, ctx) => `${r.x}:${r.pre.y}:${r.fit}:${ctx.index}:${ctx.attempt}`, { needs: ['fit', 'pre'] }),
    ]);
    const res = await unit({ rows: [{ row: 7, group: 0, params: { x: 1 } }, { row: 9, group: 0, params: { x: 5 } }] }, { attempt: 2 });
    expect(res.map((r) => r.row)).toEqual([7, 9]);
    expect(Object.keys(res[0]!.stages)).toEqual(['pre', 'fit', 'report']);
    expect(value(res[0]!.stages.report)).toBe('1:2:3:7:2');
    expect(value(res[1]!.stages.report)).toBe('5:10:15:9:2');
    expect(res[1]!.stages.fit!.ms).toBeGreaterThanOrEqual(0);
  });

  it('emits each row as it finishes, in finishing order, before the unit resolves with all of them', async () => {
    const unit = unitFn([
      fnStage('wait', async (r: { ms: number }) => {
        await new Promise((res) => setTimeout(res, r.ms));
        return r.ms;
      }),
      fnStage('fail', (r: { ms: number }) => {
        if (r.ms === 5) throw new Error('five');
        return 1;
      }, { needs: ['wait'] }),
    ], 'inline', 3);
    const emitted: { row: number; stages: Record<string, StageOutcome> }[] = [];
    let resolved = false;
    const res = unit({ rows: rowsOf([{ ms: 120 }, { ms: 5 }, { ms: 60 }]) }, { emit: (v) => void (resolved || emitted.push(v as never)) });
    const all = await res;
    resolved = true;
    // Every row, failed ones too, with the same outcomes as the unit's value.
    expect(emitted.map((r) => r.row)).toEqual([1, 2, 0]);
    expect(emitted.sort((a, b) => a.row - b.row)).toEqual(all);
    expect(error(all[1]!.stages.fail).message).toBe('five');
  });

  it('a failed stage skips what needs it, transitively, and other rows and stages go on', async () => {
    const unit = unitFn([
      fnStage('pre', (r: { x: number }) => {
        if (r.x === 2) throw new RangeError(`x=${r.x} is out of range`);
        return r.x;
      }),
      fnStage('side', (r: { x: number }) => -r.x),
      fnStage('fit', (r: { pre: number }) => r.pre * 10, { needs: ['pre'] }),
      fnStage('report', (r: { fit: number; side: number }) => r.fit + r.side, { needs: ['fit', 'side'] }),
    ]);
    const res = await unit({ rows: rowsOf([{ x: 1 }, { x: 2 }, { x: 3 }]) });
    expect(value(res[0]!.stages.report)).toBe(9);
    expect(value(res[2]!.stages.report)).toBe(27);
    const failed = res[1]!.stages;
    expect(error(failed.pre)).toMatchObject({ code: 'TASK_ERROR', name: 'RangeError', message: 'x=2 is out of range', context: { stage: 'pre', row: 1 } });
    expect(error(failed.pre).stack).toContain('RangeError');
    expect(value(failed.side)).toBe(-2);
    expect(error(failed.fit)).toEqual({ code: 'SKIPPED', message: 'not run: stage "pre" failed' });
    expect(error(failed.report)).toEqual({ code: 'SKIPPED', message: 'not run: stage "pre" failed' });
  });

  it('stages in row.done are not run and are reported cached', async () => {
    const unit = unitFn([
      fnStage('pre', () => {
        throw new Error('pre must not run again');
      }),
      fnStage('fit', (r: { pre: { y: number } }) => r.pre.y + 1, { needs: ['pre'] }),
    ]);
    const [row] = await unit({ rows: [{ row: 0, group: 0, params: {}, done: { pre: { y: 41 } } }] });
    expect(row!.stages.pre).toEqual({ ok: true, value: { y: 41 }, ms: 0, cached: true });
    expect(value(row!.stages.fit)).toBe(42);
  });

  it('an output that does not match its schema fails the stage naming the field', async () => {
    const output = z.toJSONSchema(z.object({ score: z.number(), tags: z.array(z.string()).optional() }));
    const unit = unitFn([fnStage('fit', (r: { s: unknown }) => ({ score: r.s }), { output }), fnStage('after', () => 1, { needs: ['fit'] })]);
    const res = await unit({ rows: rowsOf([{ s: 0.5 }, { s: 'high' }]) });
    expect(value(res[0]!.stages.fit)).toEqual({ score: 0.5 });
    expect(error(res[1]!.stages.fit)).toMatchObject({ code: 'BAD_INPUT', message: 'stage "fit" returned an output that does not match its schema: score: expected number, got string' });
    expect(error(res[1]!.stages.after).code).toBe('SKIPPED');
  });

  it('a value that cannot travel fails its stage, not the unit', async () => {
    const unit = unitFn([fnStage('bad', (r: { x: number }) => (r.x === 1 ? { f: () => 1 } : r.x))]);
    const res = await unit({ rows: rowsOf([{ x: 0 }, { x: 1 }]) });
    expect(value(res[0]!.stages.bad)).toBe(0);
    expect(error(res[1]!.stages.bad)).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('the output of stage "bad"') });
  });

  it('a command stage fills its argv from params and needed outputs and returns exit code and output tails', async () => {
    const unit = unitFn([
      fnStage('pre', (r: { alpha: number }) => ({ y: r.alpha * 2, obj: { k: [1, 2] } })),
      cmdStage('fit', [NODE, '-e', 'console.log(JSON.stringify([process.argv.slice(1), process.env.FLOW_TEST, process.cwd()])); console.error("note")', '--', '--alpha={alpha}', '{pre.y}', '{pre.obj}'], {
        needs: ['pre'],
        env: { FLOW_TEST: 'yes' },
        cwd: '/tmp',
      }),
    ]);
    const [row] = await unit({ rows: rowsOf([{ alpha: 0.1 }]) });
    const out = value(row!.stages.fit) as CommandOutput;
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([['--alpha=0.1', '0.2', '{"k":[1,2]}'], 'yes', '/tmp']);
    expect(out.stderr).toBe('note\n');
    expect(out.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('a command that exits non-zero fails COMMAND_FAILED with its exit code and the last stderr line', async () => {
    const unit = unitFn([cmdStage('fit', [NODE, '-e', 'process.stdout.write("x".repeat(20000)); console.error("warming up\\nfit diverged at step 7"); process.exit(3)', '{alpha}'])]);
    const [row] = await unit({ rows: rowsOf([{ alpha: 0.1 }]) });
    const err = error(row!.stages.fit);
    expect(err.code).toBe('COMMAND_FAILED');
    expect(err.message).toMatch(/^`.+ -e ".+" 0\.1` exited with code 3: fit diverged at step 7$/);
    expect(err.context).toMatchObject({ exitCode: 3, stage: 'fit', row: 0, stderrTail: 'warming up\nfit diverged at step 7\n' });
    expect((err.context!.stdoutTail as string).length).toBe(8192);
  });

  it('a program that does not exist fails COMMAND_FAILED naming it', async () => {
    const unit = unitFn([cmdStage('fit', ['flotilla-no-such-program', '{x}'])]);
    const [row] = await unit({ rows: rowsOf([{ x: 1 }]) });
    expect(error(row!.stages.fit)).toMatchObject({ code: 'COMMAND_FAILED', message: expect.stringContaining('program "flotilla-no-such-program" not found') });
  });

  it('a placeholder with no value fails the stage BAD_INPUT naming it', async () => {
    const unit = unitFn([fnStage('pre', () => ({ y: 1 })), cmdStage('fit', [NODE, '-e', '', '{alpha}', '{pre.z}'], { needs: ['pre'] })]);
    const res = await unit({ rows: rowsOf([{ alpha: 1 }, {}]) });
    expect(error(res[0]!.stages.fit)).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('placeholder {pre.z}') });
    expect(error(res[1]!.stages.fit)).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('placeholder {alpha}') });
  });

  it('timeoutMs ends a function stage and kills a command stage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-timeout-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // Long enough for a loaded machine to start node; the command would run a minute.
    const unit = unitFn([fnStage('wait', () => new Promise(() => {}), { timeoutMs: 100 }), cmdStage('sleep', [NODE, '-e', SLEEPER, '{dir}'], { timeoutMs: 2000 })]);
    const [row] = await unit({ rows: rowsOf([{ dir }]) });
    expect(error(row!.stages.wait)).toMatchObject({ code: 'TIMEOUT', message: 'stage "wait" timed out after 100 ms' });
    expect(error(row!.stages.sleep)).toMatchObject({ code: 'TIMEOUT', message: 'stage "sleep" timed out after 2000 ms', context: { timedOut: true, stage: 'sleep' } });
    const pids = readdirSync(dir).map(Number);
    expect(pids).toHaveLength(1);
    // It ignored SIGTERM: the stage ended only once SIGKILL had ended the command.
    expect(isGone(pids[0]!)).toBe(true);
  });

  it('runs at most workersWithin rows at a time', async () => {
    const unit = unitFn([fnStage('t', async () => {
      const start = performance.timeOrigin + performance.now();
      await new Promise((r) => setTimeout(r, 40));
      return { start, end: performance.timeOrigin + performance.now() };
    })], 'inline', 2);
    const res = await unit({ rows: rowsOf(Array.from({ length: 6 }, () => ({}))) });
    const spans = res.map((r) => value(r.stages.t) as { start: number; end: number });
    const overlap = Math.max(...spans.map((s) => spans.filter((o) => o.start <= s.start && o.end > s.start).length));
    expect(overlap).toBe(2);
  });

  it('abort kills running commands and rejects with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-abort-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // The commands ignore SIGTERM: only the SIGKILL after the grace ends them.
    const unit = unitFn([cmdStage('sleep', [NODE, '-e', SLEEPER, '{dir}'])], 'inline', 2);
    const ac = new AbortController();
    const pending = unit({ rows: rowsOf([{ dir }, { dir }, { dir }]) }, { signal: ac.signal });
    await until(() => readdirSync(dir).length === 2);
    const pids = readdirSync(dir).map(Number);
    ac.abort(new Error('stop now'));
    expect((await rejection(pending)).message).toBe('stop now');
    await waitGone(pids, 2000, 'aborted commands');
  });

  it('a malformed definition is refused when the unit is built', () => {
    expect(() => unitFn([{ name: 'a', needs: ['b'], cmd: ['x'] }])).toThrow('flow stage "a" needs "b", which is not an earlier stage');
    expect(() => unitFn([{ name: 'a', needs: [] }])).toThrow('flow stage "a" needs exactly one of fn and cmd');
    expect(() => unitFn([], 'inline', 0)).toThrow('"workersWithin" must be a positive integer, got 0');
  });
});
