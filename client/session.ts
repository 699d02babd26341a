/**
 * A session with a controller: the typed tRPC client plus what app code calls. Embedded
 * sessions run the controller in this process and call it without a socket (localLink); remote
 * ones speak tRPC over WebSocket with the bearer token.
 */
import type { TRPCClient } from '@trpc/client';
import type { Encoded } from '../contract/codec.js';
import { FlotillaError } from '../contract/errors.js';
import type { TaskContext } from '../contract/task-context.js';
import type { Controller } from '../server/controller.js';
import type { AppRouter } from '../contract/api.js';
import type { JobStatus } from '../contract/job-types.js';
import type { LaneInfo } from '../contract/agent-types.js';
import type { PoolStatus } from '../contract/agent-types.js';
import type { PruneResult } from '../contract/agent-types.js';
import { describeZodError, mapOptionsSchema } from '../contract/schemas.js';
import type { MapSchedulingOptions } from '../contract/schemas.js';
import type { HotPath } from './transport.js';
import { encodeChunk } from './chunks.js';
export type { HotPath } from './transport.js';
import type { LaneWhere } from '../contract/agent-types.js';
import { shipFunction } from './ship.js';
import { Functions, isByName, isNamed, toNamed } from './functions.js';
import type { AnyTaskFn, ArgOf, NamedFn, RegisteredFn } from './functions.js';
import { MapJob } from './job.js';
import { needsBuild, Prebuilt, prepareFunction, shipInline } from './module/prepare.js';
import type { FunctionOptions } from './module/prepare.js';
import type { ModuleFunction } from './module/handle.js';
import type { FnSpec } from '../contract/fnspec.js';
import { toOutcome } from './outcome.js';
import { itemList } from './items.js';
import { abortError } from './abort.js';
import { fromTRPCError } from './errors.js';
import { flow } from './flow/flow.js';
import { captureCallSite, locateError } from './call-site.js';
import type { CallSite } from './call-site.js';
import { shippingFrom } from './ship.js';
import { checkKnownKeys } from '../contract/options.js';
import type { Flow } from './flow/flow.js';
import { progressSink } from './progress/map-progress.js';
import type { ProgressOption } from './progress/map-progress.js';

/** Options of one map. `S` is what its `setup` returns (the tasks' `ctx.setup`, awaited). */
export interface MapOptions<S = unknown> extends MapSchedulingOptions {
  /** Names the function uses from outside itself; they are shipped with it and in scope remotely. */
  globals?: Record<string, unknown>;
  /** Aborting cancels the job: queued tasks are dropped, running ones aborted on their agents. */
  signal?: AbortSignal;
  /**
   * Whether an error thrown by the function should be retried (up to `retries`). Runs on the
   * agent, in the function's scope (it may use its globals). @default no error is retried
   */
  retryIf?: (error: unknown) => boolean;
  /**
   * Runs once per agent slot before this function's first task there (loads data, warms a
   * model); its awaited value is the tasks' `ctx.setup`. A module function (`work.init`) or an
   * inline function (which may use `globals`). One that throws fails those tasks with SETUP_FAILED.
   */
  setup?: ModuleFunction<(...args: any[]) => S> | (() => S);
  /**
   * Time limit (ms) of a slot's preparation for this function: importing its module and running
   * its setup (`timeoutMs` does not cover it). Past it, the tasks that need it fail SETUP_FAILED
   * and the slot's thread is replaced. @default 600000 (10 minutes)
   */
  setupTimeoutMs?: number;
  /**
   * Shows the job's progress: `true` draws a bar on stderr when it is a terminal (done / total,
   * failed, rate, ETA) and nothing when it is not; a function gets the same figures as results
   * arrive (`{ done, failed, total, rate, etaMs, elapsedMs }`). @default false
   */
  progress?: ProgressOption;
}

/** Options of `attach`. */
export interface AttachOptions {
  /** Shows the job's progress, as the map option does. @default false */
  progress?: ProgressOption;
}

/** Options of `everywhere`. */
export interface EverywhereOptions {
  /** Pool whose connected slots run it. @default the controller's default pool */
  pool?: string;
  /** Names the (inline) function uses from outside itself. */
  globals?: Record<string, unknown>;
  /** Time limit per slot in ms; 0 means none. @default 0 */
  timeoutMs?: number;
}

/** One slot's outcome of `everywhere`: where it ran, and its value or error. */
export type LaneOutcome<R> = LaneWhere & ({ ok: true; value: R } | { ok: false; error: FlotillaError });

/** The function a map runs: gets one item and the task's context (`S`: its setup's value). */
export type TaskFn<T, R, S = unknown> = (item: T, ctx: TaskContext<S>) => R;

/** Options of a map of a registered function: its globals and retryIf were fixed when it was registered. */
export type NamedMapOptions = Omit<MapOptions, 'globals' | 'retryIf' | 'setup' | 'setupTimeoutMs'>;


export class Session {
  private active = 0;
  /** Ends each open result stream; close() calls them so no job is left waiting. */
  private readonly streams = new Set<(err: FlotillaError) => void>();
  private keepAlive: NodeJS.Timeout | undefined;
  private closed = false;
  /** Functions registered on the controller by name. */
  readonly functions: Functions;

  /** @internal use `connect()` */
  constructor(
    private readonly trpc: TRPCClient<AppRouter>,
    private readonly hot: HotPath,
    /** The embedded controller, when this session runs one. */
    readonly controller: Controller | undefined,
    private readonly onClose: () => Promise<void>,
    private readonly dashboardAt = '',
  ) {
    this.functions = new Functions(trpc, (fn, o) => this.prepareFunction(fn, o));
  }

  /**
   * Runs `fn` on every item, on the agents of a pool. Returns at once; the job is awaitable
   * (values in input order) and async-iterable (outcomes as they finish).
   */
  /** Runs a registered function (the version its handle names) on every item. */
  map<A, R>(fn: RegisteredFn<A, R>, items: Iterable<A> | ArrayLike<A>, opts?: NamedMapOptions): MapJob<Awaited<R>>;
  /** Runs the latest version of the function registered as `name`; type it with `map<typeof fn>(name, ...)`. */
  map<F extends AnyTaskFn = (item: unknown) => unknown>(name: string, items: Iterable<ArgOf<F>> | ArrayLike<ArgOf<F>>, opts?: NamedMapOptions): MapJob<Awaited<ReturnType<F>>>;
  // Declared last: when no form fits, TypeScript reports the last one's error, and this is the
  // form almost every call means (so a misspelt option is named as such).
  /**
   * Runs `fn` on every item: an inline function, or an export of a module file (bundled with its
   * imports, uploaded once, cached on agents): `map(rows, work.fit)` with
   * `work = moduleOf<typeof import('./work.js')>(url)`, or `map(rows, { module: url, export: 'fit' })`.
   */
  map<T, R, S = unknown>(items: Iterable<T> | ArrayLike<T>, fn: TaskFn<T, R, NoInfer<Awaited<S>>> | ModuleFunction<(item: T, ctx: TaskContext<NoInfer<Awaited<S>>>) => R>, opts?: MapOptions<S>): MapJob<Awaited<R>>;
  map(a: unknown, b: unknown, opts: MapOptions = {}): MapJob<unknown> {
    return this.mapFrom(captureCallSite(), a, b, opts);
  }

  /** @internal `map`, with the app's call site captured by the caller (clusterMap). */
  mapFrom(site: CallSite, a: unknown, b: unknown, opts: MapOptions = {}): MapJob<unknown> {
    const job = new MapJob<unknown>((jobId) => this.cancel(jobId).then(() => undefined), site);
    job.showProgress(progressSink(opts?.progress));
    let input;
    try {
      const byName = isByName(a, b);
      if (!byName && needsBuild(b, opts)) {
        void this.buildAndRun(job, a as Iterable<unknown>, b, opts);
        return job;
      }
      input = shippingFrom(site, () => this.prepare((byName ? b : a) as Iterable<unknown>, byName ? toNamed(a, opts) : (b as TaskFn<unknown, unknown>), opts));
    } catch (err) {
      job.fail(FlotillaError.from(err, 'BAD_INPUT'));
      return job;
    }
    void this.run(job, input, opts.signal);
    return job;
  }

  /**
   * Runs a registered function once, on `arg`: resolves with its value, rejects with its error.
   * By name, type it with `call<typeof fn>(name, arg)`.
   */
  call<A, R>(fn: RegisteredFn<A, R>, arg: A, opts?: NamedMapOptions): Promise<Awaited<R>>;
  call<F extends AnyTaskFn = (item: unknown) => unknown>(name: string, arg: ArgOf<F>, opts?: NamedMapOptions): Promise<Awaited<ReturnType<F>>>;
  async call(fn: string | RegisteredFn<unknown, unknown>, arg: unknown, opts?: NamedMapOptions): Promise<unknown> {
    const [o] = await this.map(fn as string, [arg], opts).outcomes();
    if (!o!.ok) throw o!.error;
    return o!.value;
  }

  /** A map whose function (or setup) is a module: built and uploaded first, then run. */
  private async buildAndRun(job: MapJob<unknown>, items: Iterable<unknown>, fn: unknown, opts: MapOptions): Promise<void> {
    let input: Prepared;
    this.hold(+1);
    try {
      input = this.prepare(items, new Prebuilt(await this.prepareFunction(fn, opts)), opts);
    } catch (err) {
      return job.fail(FlotillaError.from(err, 'BAD_INPUT'));
    } finally {
      this.hold(-1);
    }
    await this.run(job, input, opts.signal);
  }

  /**
   * @internal Ships an inline function, or builds and uploads a module function (and its
   * setup), and returns the spec to submit or register.
   */
  async prepareFunction(fn: unknown, opts: FunctionOptions = {}): Promise<FnSpec> {
    if (this.closed) throw new FlotillaError('CLOSED', 'this session is closed');
    try {
      return await prepareFunction(this.trpc, fn, opts);
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  /**
   * Runs `fn` once on every slot of a pool connected now (mirai's everywhere(), Dask's
   * client.run): warm a cache, set a process-wide option, see what each machine has. It gets
   * `{ agentId, host, lane }` as its item. Resolves with one outcome per slot; slots that
   * connect later get nothing (use a map's `setup` for state every slot must have).
   */
  everywhere<R>(fn: TaskFn<LaneWhere, R> | ModuleFunction<(where: LaneWhere, ctx: TaskContext) => R>, opts: EverywhereOptions = {}): Promise<LaneOutcome<Awaited<R>>[]> {
    return this.holding((async () => {
      if (this.closed) throw new FlotillaError('CLOSED', 'this session is closed');
      checkKnownKeys(opts, ['pool', 'globals', 'timeoutMs'], 'everywhere option');
      const { globals, pool, timeoutMs } = opts;
      const spec = await this.prepareFunction(fn, { globals });
      let res;
      try {
        res = await this.trpc.agents.everywhere.mutate({ fn: spec, pool, timeoutMs });
      } catch (err) {
        throw fromTRPCError(err);
      }
      return res.map(({ agentId, host, lane, result }) => {
        const o = toOutcome<Awaited<R>>(result);
        return o.ok ? { agentId, host, lane, ok: true as const, value: o.value } : { agentId, host, lane, ok: false as const, error: o.error };
      });
    })());
  }

  /** Asks every connected agent slot to drop (dispose) setup values: these setup ids, or all. */
  /**
   * Removes from `host`'s `~/.cache/flotilla` (an SSH pool's host or a SLURM pool's login node)
   * the agent bundles and runtimes no current agent uses; says what it removed and kept.
   */
  async pruneCache(opts: { host: string }): Promise<PruneResult> {
    try {
      return await this.trpc.cache.prune.mutate({ host: opts.host });
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  async dropSetup(ids?: string[]): Promise<{ lanes: number }> {
    try {
      return await this.trpc.agents.dropSetup.mutate({ ids });
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  private prepare<T, R>(items: Iterable<T> | ArrayLike<T>, fn: TaskFn<T, R> | NamedFn | Prebuilt, opts: MapOptions) {
    if (this.closed) throw new FlotillaError('CLOSED', 'this session is closed');
    if (opts === null || typeof opts !== 'object') throw new FlotillaError('BAD_INPUT', `map options must be an object, got ${opts === null ? 'null' : typeof opts}`);
    checkKnownKeys(opts, MAP_OPTION_KEYS, 'map option');
    const { globals, signal, retryIf, setup, setupTimeoutMs, progress, ...sched } = opts;
    checkProgress(progress);
    const parsed = mapOptionsSchema.safeParse(sched);
    if (!parsed.success) throw new FlotillaError('BAD_INPUT', describeZodError(parsed.error, 'map options'));
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new FlotillaError('BAD_INPUT', 'map option signal must be an AbortSignal');
    if (retryIf !== undefined && typeof retryIf !== 'function') throw new FlotillaError('BAD_INPUT', 'map option retryIf must be a function of the error, e.g. (err) => /ECONNRESET/.test(String(err))');
    const list = itemList(items);
    const fnSpec = fn instanceof Prebuilt ? fn.spec : isNamed(fn) ? fn : setup === undefined && setupTimeoutMs === undefined ? shipFunction(fn, globals ?? {}, { retryIf }) : shipInline(fn, { globals, retryIf, setup, setupTimeoutMs });
    // The first chunk is encoded now, so an item that cannot be sent fails before anything is.
    const first = encodeChunk(list, 0);
    return { sched: parsed.data, fn: fnSpec, list, first };
  }

  /**
   * Submits a prepared job: the first chunk of arguments with the job, the others appended one
   * after the other, each encoded only when its turn comes, so neither side holds the whole job
   * encoded. An item that cannot be sent cancels the job. Resolves with the job's id.
   */
  private async send(input: Prepared, onSubmitted?: (jobId: string, total: number) => void): Promise<string> {
    const { jobId, sent } = await this.hot.submit({ ...input.sched, ...(isNamed(input.fn) ? input.fn : { fn: input.fn }), args: input.first, total: input.list.length });
    onSubmitted?.(jobId, input.list.length);
    // What one message could not carry goes in the next ones.
    let args = input.first.slice(sent);
    for (let offset = sent; offset < input.list.length; ) {
      try {
        if (args.length === 0) args = encodeChunk(input.list, offset);
        const r = await this.hot.append({ jobId, offset, args });
        offset += r.sent;
        args = args.slice(r.sent);
      } catch (err) {
        await this.cancel(jobId).catch(() => {});
        throw err;
      }
    }
    return jobId;
  }

  /**
   * Submits a job and returns its id once every argument is with the controller; nothing waits
   * for results. On a running controller (`connect({ url })`) the job runs on without this
   * session: `attach(id)`, `status(id)` or the CLI (`flotilla status|collect|cancel <id>`) find
   * it later, from any process. An embedded controller lives in this process, so there the
   * process stays alive until the job has finished (`close()` ends it at once).
   */
  submit<T, R>(items: Iterable<T> | ArrayLike<T>, fn: TaskFn<T, R> | ModuleFunction<(item: T, ctx: TaskContext) => R>, opts?: Omit<MapOptions, 'signal' | 'progress'>): Promise<string>;
  /** Submits a map of a registered function (the version its handle names), like `map(fn, items)`. */
  submit<A, R>(fn: RegisteredFn<A, R>, items: Iterable<A> | ArrayLike<A>, opts?: Omit<NamedMapOptions, 'signal' | 'progress'>): Promise<string>;
  /** Submits a map of the latest version of the function registered as `name`. */
  submit<F extends AnyTaskFn = (item: unknown) => unknown>(name: string, items: Iterable<ArgOf<F>> | ArrayLike<ArgOf<F>>, opts?: Omit<NamedMapOptions, 'signal' | 'progress'>): Promise<string>;
  async submit(a: unknown, b: unknown, opts: Omit<MapOptions, 'signal' | 'progress'> = {}): Promise<string> {
    let input: Prepared;
    const site = captureCallSite();
    try {
      if ((opts as MapOptions).progress !== undefined) throw new FlotillaError('BAD_INPUT', 'submit() returns once the job is sent and shows no progress; watch it with attach(jobId, { progress: true })');
      if (isByName(a, b)) input = this.prepare(b as Iterable<unknown>, toNamed(a, opts), opts);
      else if (needsBuild(b, opts)) input = this.prepare(a as Iterable<unknown>, new Prebuilt(await this.prepareFunction(b, opts)), opts);
      else input = shippingFrom(site, () => this.prepare(a as Iterable<unknown>, b as TaskFn<unknown, unknown>, opts));
    } catch (err) {
      throw locateError(fromTRPCError(err), site);
    }
    this.hold(+1);
    try {
      const jobId = await this.send(input);
      if (this.controller && input.list.length > 0) this.holdUntilDone(jobId);
      return jobId;
    } catch (err) {
      throw fromTRPCError(err);
    } finally {
      this.hold(-1);
    }
  }

  /**
   * An embedded controller's jobs die with this process: a job submitted to one keeps the
   * process alive until it has finished (or the session is closed), as a map's does.
   */
  private holdUntilDone(jobId: string): void {
    this.hold(+1);
    let ended = false;
    let stop: (() => void) | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      this.hold(-1);
      queueMicrotask(() => stop?.());
    };
    stop = this.hot.watch(jobId, (b) => b.seq >= b.total && end(), end);
  }

  private async run<R>(job: MapJob<R>, input: Prepared, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return job.fail(abortError(signal, 'job', undefined, true));
    this.hold(+1);
    try {
      let jobId = '';
      let total = 0;
      // Results stream while later chunks are still being sent.
      const sent = this.send(input, (id, n) => {
        jobId = id;
        total = n;
        job.started(id, n);
      });
      sent.catch((err) => job.fail(fromTRPCError(err)));
      await Promise.race([sent, job.id]);
      const onAbort = () => {
        job.fail(abortError(signal!, 'job', { jobId }));
        void this.cancel(jobId).catch(() => {});
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort(); // aborted while the submit was on its way
      try {
        if (total > 0) await this.stream(job, jobId);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      job.fail(fromTRPCError(err));
    } finally {
      this.hold(-1);
    }
  }

  /**
   * A handle on a job submitted earlier (by this or another program): awaitable and iterable
   * like the one `map()` returns, replaying results from the first.
   */
  attach<R = unknown>(jobId: string, opts: AttachOptions = {}): MapJob<R> {
    const job = new MapJob<R>((id) => this.cancel(id).then(() => undefined));
    try {
      if (opts === null || typeof opts !== 'object') throw new FlotillaError('BAD_INPUT', `attach options must be an object, got ${opts === null ? 'null' : typeof opts}`);
      checkKnownKeys(opts, ['progress'], 'attach option');
      checkProgress(opts.progress);
    } catch (err) {
      job.fail(err as FlotillaError);
      return job;
    }
    job.showProgress(progressSink(opts.progress));
    const run = async () => {
      this.hold(+1);
      try {
        const { total } = await this.trpc.jobs.status.query({ jobId });
        job.started(jobId, total);
        if (total > 0) await this.stream(job, jobId);
      } catch (err) {
        job.fail(fromTRPCError(err));
      } finally {
        this.hold(-1);
      }
    };
    void run();
    return job;
  }

  /** A flow over `grid` on this session: `fl.flow(grid)` is `flow(grid, { session: fl })`. */
  flow<P extends object>(grid: readonly P[], opts: { name?: string; cache?: boolean } = {}): Flow<P, {}> {
    return flow(grid, { ...opts, session: this });
  }

  /** @internal The typed tRPC client, for client/flow. */
  get api(): TRPCClient<AppRouter> {
    return this.trpc;
  }

  /** @internal Keeps the process alive while `p` runs, which an embedded controller does not. */
  async holding<T>(p: Promise<T>): Promise<T> {
    this.hold(+1);
    try {
      return await p;
    } finally {
      this.hold(-1);
    }
  }

  /** Jobs the controller knows, newest last. */
  async jobs(): Promise<JobStatus[]> {
    try {
      return await this.trpc.jobs.list.query();
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  /** The last lines agents wrote to stderr, oldest first. */
  async logs(agentId?: string): Promise<{ agentId: string; at: number; line: string }[]> {
    try {
      return await this.trpc.agents.logs.query({ agentId });
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  private stream<R>(job: MapJob<R>, jobId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let stop: (() => void) | undefined;
      const end = (err?: unknown) => {
        this.streams.delete(abort);
        // The watcher may call back before it has returned its stop function.
        queueMicrotask(() => stop?.());
        if (err) reject(err);
        else resolve();
      };
      const abort = (err: FlotillaError) => end(err);
      this.streams.add(abort);
      stop = this.hot.watch(
        jobId,
        (b) => {
          if (!this.streams.has(abort)) return;
          job.push(b.results.map((r) => toOutcome<R>(r, b.pool)));
          if (b.seq >= b.total) end();
        },
        (err) => end(err),
      );
    });
  }

  /** While jobs run, keep the process alive even though an embedded controller does not. */
  private hold(d: number): void {
    this.active += d;
    if (this.active > 0 && !this.keepAlive) this.keepAlive = setInterval(() => {}, 1 << 30);
    if (this.active === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }

  /** Cancels a job, or one of its tasks. */
  async cancel(jobId: string, index?: number): Promise<{ cancelled: number }> {
    try {
      return await this.trpc.jobs.cancel.mutate({ jobId, index });
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  /** A job's progress. */
  async status(jobId: string): Promise<JobStatus> {
    try {
      return await this.trpc.jobs.status.query({ jobId });
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  /**
   * The live dashboard's address, carrying the token once: open it in a browser on this machine
   * (it trades the token for a cookie and drops it from the address bar). Treat it as the token.
   */
  dashboardUrl(): string {
    return this.dashboardAt;
  }

  /** Pools and connected agent slots. */
  async agents(): Promise<{ pools: PoolStatus[]; lanes: LaneInfo[] }> {
    try {
      return await this.trpc.agents.list.query();
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  /** Ends the session; an embedded controller stops its agents. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closedErr = new FlotillaError('CLOSED', 'the session was closed before the job finished');
    for (const abort of [...this.streams]) abort(closedErr);
    if (this.keepAlive) clearInterval(this.keepAlive);
    await this.onClose();
  }
}

type Prepared = ReturnType<Session['prepare']>;

/** Every key a map's options may have. */
const MAP_OPTION_KEYS: readonly string[] = [...Object.keys(mapOptionsSchema.shape), 'globals', 'signal', 'retryIf', 'setup', 'setupTimeoutMs', 'progress'];

function checkProgress(progress: unknown): void {
  if (progress !== undefined && typeof progress !== 'boolean' && typeof progress !== 'function') {
    throw new FlotillaError('BAD_INPUT', `map option progress must be true, false or a function of the figures ({ done, failed, total, rate, etaMs, elapsedMs }), got ${typeof progress}`);
  }
}
