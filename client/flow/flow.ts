/**
 * `flow(grid)`: a typed builder of stages over a parameter grid, its distribution, and the calls
 * that run it (`preflight`, `submit`, `collect`). Each call returns a new flow; a flow is a value.
 */
import { FlotillaError } from '../../contract/errors.js';
import type { CommandOutput } from '../../contract/flow-unit.js';
import { RESERVED_NAMES, describeZodError, getDistributeSchema } from '../../contract/option-schemas.js';
import type { DistributeInput } from '../../contract/option-schemas.js';
import { throwProblems } from '../../contract/flow-problems.js';
import type { FlowProblem } from '../../contract/flow-types.js';
import { fromTRPCError } from '../errors.js';
import { isModuleFunction } from '../module/handle.js';
import type { ModuleFunction } from '../module/handle.js';
import type { Session } from '../session.js';
import { FlowHandle } from './handle.js';
import type { CollectOptions } from './handle.js';
import type { CommandOptions, DistributeOptions, FlowRow, StageFn, StageInput, StageOptions } from './types.js';
import type { z } from 'zod';
import { buildModuleStages } from './module-stages.js';
import { outputSchema, toWire } from './wire.js';
import type { StageDecl } from './wire.js';

/** Options of `flow()`. */
export interface FlowOptions {
  /** The session to run on. @default the shared embedded session of clusterMap (local agents) */
  session?: Session;
  /** A name shown by `flotilla flows`. */
  name?: string;
  /**
   * false: run every stage of every row, neither taking outputs from the flow cache nor storing
   * them (stages may also say `cache: false` one by one). @default true
   */
  cache?: boolean;
}

interface FlowState {
  grid: unknown;
  session: Session | undefined;
  name: string | undefined;
  cache: boolean;
  stages: readonly StageDecl[];
  distribute: DistributeInput | undefined;
}

const NAME = /^[A-Za-z_$][\w$-]*$/;

export class Flow<P extends object, S extends object = {}> {
  /** @internal use `flow(grid)` */
  constructor(private readonly state: FlowState) {}

  /**
   * Adds a function stage: `fn(input, ctx)` runs once per row on an agent, `input` being the row's
   * params plus `{ [need]: output }` of each stage in `needs`. With `output` (a zod schema) the
   * value is checked on the agent and typed by the schema. `fn` may be a module export
   * (`moduleOf<typeof import('./work.js')>(url).fit`): bundled and uploaded at preflight/submit,
   * typed from the export, cached by its bundle's content hash (editing the module re-runs it).
   * @throws FlotillaError BAD_INPUT for a duplicate name, a need that is not an earlier stage, a bad option
   */
  stage<N extends string, Z extends z.ZodType, Need extends keyof S & string = never>(name: N, fn: StageFn<StageInput<P, S, Need>, z.input<Z> | Promise<z.input<Z>>> | ModuleFunction<StageFn<StageInput<P, S, Need>, z.input<Z> | Promise<z.input<Z>>>>, opts: StageOptions<Need> & { output: Z }): Flow<P, S & { [K in N]: z.output<Z> }>;
  stage<N extends string, O, Need extends keyof S & string = never>(name: N, fn: StageFn<StageInput<P, S, Need>, O> | ModuleFunction<StageFn<StageInput<P, S, Need>, O>>, opts?: StageOptions<Need> & { output?: undefined }): Flow<P, S & { [K in N]: Awaited<O> }>;
  stage(name: string, fn: Function | ModuleFunction, opts: StageOptions<string> & { output?: unknown } = {}): Flow<P, any> {
    if (typeof fn !== 'function' && !isModuleFunction(fn)) throw new FlotillaError('BAD_INPUT', `stage "${name}": its function must be a function or a module export (moduleOf(url).name), got ${fn === null ? 'null' : typeof fn}`);
    const o = this.options(name, opts, ['needs', 'globals', 'output', 'timeoutMs', 'cache']);
    if (o.globals !== undefined && (o.globals === null || typeof o.globals !== 'object' || Array.isArray(o.globals))) {
      throw new FlotillaError('BAD_INPUT', `stage "${name}": globals must be an object mapping names to values or functions, e.g. { globals: { fit } }`);
    }
    const decl: StageDecl = { name, needs: this.needs(name, o.needs), fn, globals: o.globals as Record<string, unknown> | undefined, timeoutMs: this.timeout(name, o.timeoutMs), cache: this.cache(name, o.cache) };
    if (o.output !== undefined) decl.output = outputSchema(name, o.output);
    return this.with(decl);
  }

  /**
   * Adds a command stage: runs `argv` per row on the agent, `{col}` replaced by the row's param
   * and `{stage.key}` by a key of a needed stage's output. Its output is the exit code, duration
   * and the tails of stdout and stderr; a non-zero exit fails the row with COMMAND_FAILED.
   * @example .command('fit', ['python', 'fit.py', '--alpha', '{alpha}'])
   */
  command<N extends string, Need extends keyof S & string = never>(name: N, argv: readonly string[], opts: CommandOptions<Need> = {}): Flow<P, S & { [K in N]: CommandOutput }> {
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
      throw new FlotillaError('BAD_INPUT', `stage "${name}": a command is a non-empty array of strings, e.g. ['python', 'fit.py', '--alpha', '{alpha}']`);
    }
    const o = this.options(name, opts, ['needs', 'cwd', 'env', 'timeoutMs', 'cache']);
    if (o.cwd !== undefined && (typeof o.cwd !== 'string' || o.cwd.length === 0)) throw new FlotillaError('BAD_INPUT', `stage "${name}": cwd must be a folder path, got ${JSON.stringify(o.cwd)}`);
    const env = o.env as Record<string, unknown> | undefined;
    if (env !== undefined && (env === null || typeof env !== 'object' || Object.values(env).some((v) => typeof v !== 'string'))) {
      throw new FlotillaError('BAD_INPUT', `stage "${name}": env must map names to strings`);
    }
    return this.with({ name, needs: this.needs(name, o.needs), cmd: [...argv], cwd: o.cwd as string | undefined, env: env as Record<string, string> | undefined, timeoutMs: this.timeout(name, o.timeoutMs), cache: this.cache(name, o.cache) });
  }

  /** How rows become units and where they run; see `DistributeOptions`. */
  distribute(opts: DistributeOptions<P>): Flow<P, S> {
    const parsed = getDistributeSchema().safeParse(opts);
    if (!parsed.success) throw new FlotillaError('BAD_INPUT', describeZodError(parsed.error, 'distribute options'));
    return new Flow<P, S>({ ...this.state, distribute: parsed.data });
  }

  /**
   * Checks the whole flow before anything runs: functions and their globals, values and rows that
   * must travel, command placeholders, the pool and what a unit requires of it. Rejects with ONE
   * BAD_INPUT listing every problem (`context.problems`: each with its stage and row).
   */
  async preflight(): Promise<void> {
    const { problems } = await this.check();
    if (problems.length > 0) throwProblems(problems);
  }

  /**
   * Preflights and submits the flow; resolves at once with its handle (`id`, `status()`,
   * `collect()`). On a running controller the flow runs on without this program. On an embedded
   * one (the default session, or `connect()` without url) it lives in this process, which then
   * stays alive until the flow has finished.
   */
  async submit(): Promise<FlowHandle<P, S>> {
    const { session, input, problems } = await this.check();
    if (problems.length > 0 || !input) throwProblems(problems);
    let handle: FlowHandle<P, S>;
    try {
      const s = await session.holding(session.api.flow.submit.mutate(input));
      handle = new FlowHandle<P, S>(session, s.id);
    } catch (err) {
      throw fromTRPCError(err);
    }
    if (session.controller) void session.holding(handle.done());
    return handle;
  }

  /** Submits the flow and resolves with one row per grid row, in grid order, once all are done. */
  async collect(opts: CollectOptions = {}): Promise<FlowRow<P, S>[]> {
    return (await this.submit()).collect(opts);
  }

  private async check(): Promise<{ session: Session; input?: ReturnType<typeof toWire>['input']; problems: FlowProblem[] }> {
    // Loaded when first needed: the default session's module imports connect(), which imports this one.
    const session = this.state.session ?? (await (await import('../default-session.js')).defaultSession());
    const built = await buildModuleStages(session, this.state.stages);
    const { input, problems } = toWire(this.state.grid, this.state.stages, this.state.distribute, this.state.name, built.specs, this.state.cache);
    for (const p of built.problems) problems.push(p);
    if (this.state.stages.length === 0) problems.unshift({ message: 'the flow has no stages: add one with .stage(name, fn) or .command(name, argv)' });
    try {
      for (const p of await session.api.flow.preflight.query(this.state.distribute)) problems.push(p);
    } catch (err) {
      throw fromTRPCError(err);
    }
    return { session, input, problems };
  }

  private with(decl: StageDecl): Flow<P, any> {
    return new Flow({ ...this.state, stages: [...this.state.stages, decl] });
  }

  private options(name: string, opts: unknown, known: readonly string[]): Record<string, unknown> {
    if (typeof name !== 'string' || !NAME.test(name)) throw new FlotillaError('BAD_INPUT', `stage name must be an identifier-like string (letters, digits, _, $, -), got ${JSON.stringify(name)}`);
    if (RESERVED_NAMES.includes(name)) throw new FlotillaError('BAD_INPUT', `stage name "${name}" is reserved: ${RESERVED_NAMES.join(', ')} are fields of a collected row`);
    if (this.state.stages.some((s) => s.name === name)) throw new FlotillaError('BAD_INPUT', `stage "${name}" is defined twice in this flow`);
    if (opts === null || typeof opts !== 'object') throw new FlotillaError('BAD_INPUT', `stage "${name}": options must be an object`);
    const unknown = Object.keys(opts).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new FlotillaError('BAD_INPUT', `stage "${name}": unknown option(s) ${unknown.join(', ')}; it takes ${known.join(', ')}`);
    return opts as Record<string, unknown>;
  }

  private needs(name: string, needs: unknown): string[] {
    if (needs === undefined) return [];
    if (!Array.isArray(needs) || !needs.every((n) => typeof n === 'string')) throw new FlotillaError('BAD_INPUT', `stage "${name}": needs must be an array of stage names`);
    const defined = this.state.stages.map((s) => s.name);
    for (const n of needs) {
      if (n === name) throw new FlotillaError('BAD_INPUT', `stage "${name}" needs itself: that is a cycle`);
      if (!defined.includes(n)) throw new FlotillaError('BAD_INPUT', `stage "${name}" needs "${n}", which is not a stage defined before it (stages so far: ${defined.join(', ') || 'none'})`);
    }
    return [...new Set(needs)];
  }

  private cache(name: string, c: unknown): boolean | undefined {
    if (c !== undefined && typeof c !== 'boolean') throw new FlotillaError('BAD_INPUT', `stage "${name}": cache must be true or false, got ${JSON.stringify(c)}`);
    return c;
  }

  private timeout(name: string, t: unknown): number | undefined {
    if (t === undefined) return undefined;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) throw new FlotillaError('BAD_INPUT', `stage "${name}": timeoutMs must be an integer >= 0, got ${JSON.stringify(t)}`);
    return t;
  }
}

/**
 * Starts a flow over a grid: `paramGrid({...})` or an array of row objects. Runs on the shared
 * embedded session (like clusterMap) unless given `{ session }`.
 * @example await flow(paramGrid({ a: [1, 2] })).stage('sq', ({ a }) => a * a).collect()
 */
export function flow<P extends object>(grid: readonly P[], opts: FlowOptions = {}): Flow<P, {}> {
  if (!Array.isArray(grid)) throw new FlotillaError('BAD_INPUT', `flow() takes a grid: paramGrid({...}) or an array of row objects, got ${grid === null ? 'null' : typeof grid}`);
  if (opts === null || typeof opts !== 'object') throw new FlotillaError('BAD_INPUT', 'flow() options must be an object, e.g. { session }');
  const unknown = Object.keys(opts).filter((k) => !['session', 'name', 'cache'].includes(k));
  if (unknown.length > 0) throw new FlotillaError('BAD_INPUT', `flow(): unknown option(s) ${unknown.join(', ')}; it takes session, name, cache`);
  if (opts.cache !== undefined && typeof opts.cache !== 'boolean') throw new FlotillaError('BAD_INPUT', `flow(): cache must be true or false, got ${JSON.stringify(opts.cache)}`);
  return new Flow<P, {}>({ grid, session: opts.session, name: opts.name, cache: opts.cache ?? true, stages: [], distribute: undefined });
}
