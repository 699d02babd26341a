/**
 * A flow's stages made runnable: function stages materialized once (per unit, per worker), each
 * stage run under its own abort signal that the unit's signal and the stage's `timeoutMs` feed.
 */
import { FlotillaError } from '../../contract/errors.js';
import type { FlowStageDef, FlowUnitDef } from '../../contract/flow-unit.js';
import type { TaskContext } from '../../contract/task-context.js';
import { materializeSpec } from '../materialize.js';
import { importRefs } from '../refs.js';
import { checkOutput } from './check-output.js';
import { fillArgv, runCommand } from './command.js';
import { loadStageExport } from './module-stage.js';

/** One stage, ready to run for a row. */
export interface BuiltStage {
  def: FlowStageDef;
  /** Runs the stage on one row's input; rejects with why it failed. */
  run(input: Record<string, unknown>, outputs: Record<string, unknown>, ctx: TaskContext): Promise<unknown>;
}

/**
 * Checks a unit's definition once, where the agent first sees it.
 * @throws FlotillaError BAD_INPUT naming the stage and the problem.
 */
export function checkDef(def: unknown): FlowUnitDef {
  const d = def as FlowUnitDef;
  if (d === null || typeof d !== 'object' || !Array.isArray(d.stages)) throw new FlotillaError('BAD_INPUT', 'a flow unit needs a definition with a stages list');
  if (!['inline', 'threads', 'process'].includes(d.within)) throw new FlotillaError('BAD_INPUT', `flow unit "within" must be inline, threads or process, got ${JSON.stringify(d.within)}`);
  if (!Number.isInteger(d.workersWithin) || d.workersWithin < 1) throw new FlotillaError('BAD_INPUT', `flow unit "workersWithin" must be a positive integer, got ${JSON.stringify(d.workersWithin)}`);
  const seen = new Set<string>();
  for (const s of d.stages) {
    if (typeof s?.name !== 'string' || s.name === '') throw new FlotillaError('BAD_INPUT', 'every flow stage needs a name');
    if (seen.has(s.name)) throw new FlotillaError('BAD_INPUT', `flow stage "${s.name}" is defined twice`);
    if ((s.fn === undefined) === (s.cmd === undefined)) throw new FlotillaError('BAD_INPUT', `flow stage "${s.name}" needs exactly one of fn and cmd`);
    if (s.cmd !== undefined && (!Array.isArray(s.cmd) || s.cmd.length === 0 || s.cmd.some((a) => typeof a !== 'string'))) throw new FlotillaError('BAD_INPUT', `flow stage "${s.name}": cmd must be a non-empty list of strings`);
    for (const n of s.needs ?? []) {
      // Dependency order is the contract: a need must come earlier.
      if (!seen.has(n)) throw new FlotillaError('BAD_INPUT', `flow stage "${s.name}" needs "${n}", which is not an earlier stage`);
    }
    seen.add(s.name);
  }
  return d;
}

/** Builds every stage; a function that does not materialize fails that stage on each row, not the unit. */
export function buildStages(def: FlowUnitDef): BuiltStage[] {
  return def.stages.map((s) => ({ def: s, run: timed(s, s.fn ? fnRunner(s) : cmdRunner(s)) }));
}

type Run = BuiltStage['run'];

function fnRunner(s: FlowStageDef): Run {
  if (s.fn!.module) {
    // Imported on the first row that runs the stage, once per unit (per worker); a failed import fails each row.
    let loading: Promise<(...args: unknown[]) => unknown> | undefined;
    return async (input, _outputs, ctx) => (await (loading ??= loadStageExport(s)))(input, ctx);
  }
  const refs = s.fn!.refs;
  if (refs && Object.keys(refs).length > 0) {
    // Globals by reference: imported on the first row, like a module stage's export.
    let loading: Promise<(...args: unknown[]) => unknown> | undefined;
    const load = async () => {
      try {
        return materializeSpec(s.fn!, await importRefs(refs)).fn;
      } catch (err) {
        const e = FlotillaError.from(err, 'BAD_INPUT');
        throw new FlotillaError(e.code, `stage "${s.name}": ${e.message}`, { cause: e, context: e.context });
      }
    };
    return async (input, _outputs, ctx) => (await (loading ??= load()))(input, ctx);
  }
  let fn: (...args: unknown[]) => unknown;
  try {
    fn = materializeSpec(s.fn!).fn;
  } catch (err) {
    const e = FlotillaError.from(err, 'BAD_INPUT');
    const failed = new FlotillaError(e.code, `stage "${s.name}": ${e.message}`, { cause: e, context: e.context });
    return () => Promise.reject(failed);
  }
  return async (input, _outputs, ctx) => fn(input, ctx);
}

function cmdRunner(s: FlowStageDef): Run {
  return async (input, outputs, ctx) => {
    const argv = fillArgv(s.name, s.cmd!, input, outputs);
    return runCommand(argv, { cwd: s.cwd, env: s.env, signal: ctx.signal });
  };
}

/**
 * Gives the stage its own signal (the unit's abort and the stage's timeout both abort it), checks
 * the output against the stage's schema. A function that ignores its signal is not waited for:
 * the stage ends with the abort reason and the function's late outcome is dropped.
 */
function timed(s: FlowStageDef, run: Run): Run {
  return (input, outputs, ctx) => {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(ctx.signal.reason);
    if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = s.timeoutMs ? setTimeout(() => ac.abort(new FlotillaError('TIMEOUT', `stage "${s.name}" timed out after ${s.timeoutMs} ms`, { context: { timedOut: true } })), s.timeoutMs) : undefined;
    const stageCtx: TaskContext = { index: ctx.index, attempt: ctx.attempt, signal: ac.signal, setup: ctx.setup };
    const work = Promise.resolve().then(() => run(input, outputs, stageCtx));
    // Commands settle only once their process is gone, so they are awaited; functions are raced.
    const raced = s.cmd ? work : Promise.race([work, new Promise<never>((_r, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }))]);
    work.catch(() => {}); // a raced-away function's late rejection is nobody's business
    return raced
      .then((value) => {
        const problem = checkOutput(s.output, value);
        if (problem) throw new FlotillaError('BAD_INPUT', `stage "${s.name}" returned an output that does not match its schema: ${problem}`);
        return value;
      })
      .finally(() => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      });
  };
}
