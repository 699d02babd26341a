/**
 * A session with a controller: the typed tRPC client plus what app code calls. Embedded
 * sessions run the controller in this process and call it without a socket (localLink); remote
 * ones speak tRPC over WebSocket with the bearer token.
 */
import type { TRPCClient } from '@trpc/client';
import { FlotillaError } from '../contract/errors.js';
import type { TaskContext } from '../contract/task-context.js';
import type { Controller } from '../server/controller.js';
import type { AppRouter } from '../contract/api.js';
import type { JobStatus } from '../contract/job-types.js';
import type { LaneInfo, LaneWhere, PoolStatus, PruneResult } from '../contract/agent-types.js';
import type { FnSpec } from '../contract/fnspec.js';
import { checkKnownKeys } from '../contract/options.js';
import type { HotPath } from './transport.js';
import { Functions, isByName, toNamed } from './functions.js';
import type { AnyTaskFn, ArgOf, NamedFn, RegisteredFn } from './functions.js';
import { MapJob } from './job.js';
import { needsBuild, Prebuilt, prepareFunction } from './module/prepare.js';
import type { ModuleFunction } from './module/handle.js';
import type { TaskOutcome } from './outcome.js';
import { toOutcome } from './outcome.js';
import { fromTRPCError } from './errors.js';
import { flow } from './flow/flow.js';
import type { Flow } from './flow/flow.js';
import { captureCallSite, locateError } from './call-site.js';
import type { CallSite } from './call-site.js';
import { shippingFrom } from './ship.js';
import { progressSink } from './progress/map-progress.js';
import { checkProgress, prepareMap } from './map-input.js';
import type { PreparedMap } from './map-input.js';
import type { AttachOptions, EverywhereOptions, FunctionOptions, LaneOutcome, MapOptions, NamedMapOptions, TaskFn } from './map-options.js';
import { MapRunner } from './map-runner.js';
import { Calls } from './calls.js';

export type { AttachOptions, EverywhereOptions, LaneOutcome, MapOptions, NamedMapOptions, TaskFn } from './map-options.js';

/** A session with a controller: maps, flows, registered functions, and the controller's state. */
export class Session {
  private closed = false;
  /** Sends this session's jobs and streams their results. */
  private readonly runner: MapRunner;
  /** Calls of registered functions, where the transport has a direct path for them. */
  private readonly calls: Calls | undefined;
  /** Functions registered on the controller by name. */
  readonly functions: Functions;
  /** @internal The embedded controller, when this session runs one. */
  readonly controller: Controller | undefined;
  /** What a job's `cancel()` calls: one function for all of them. */
  readonly #cancelJob = (jobId: string): Promise<void> => this.cancel(jobId).then(() => undefined);

  /** @internal use `connect()` */
  constructor(
    private readonly trpc: TRPCClient<AppRouter>,
    hot: HotPath,
    controller: Controller | undefined,
    private readonly onClose: () => Promise<void>,
    private readonly dashboardAt = '',
  ) {
    this.controller = controller;
    this.functions = new Functions(trpc, (fn, o) => this.prepareFunction(fn, o));
    this.runner = new MapRunner(hot, (jobId) => this.cancel(jobId));
    this.calls = hot.call && new Calls(hot.call);
  }

  /** @internal Keeps the process alive while `p` runs, which an embedded controller does not. */
  holding<T>(p: Promise<T>): Promise<T> {
    return this.runner.holding(p);
  }

  /** Checks a map and readies it to send, on an open session. */
  private prepare<T, R>(items: Iterable<T> | ArrayLike<T>, fn: TaskFn<T, R> | NamedFn | Prebuilt, opts: MapOptions): PreparedMap {
    if (this.closed) throw new FlotillaError('CLOSED', 'this session is closed');
    return prepareMap(items, fn, opts);
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
    return this.mapFrom(captureCallSite(Session.prototype.map), a, b, opts);
  }

  /** @internal `map`, with the app's call site captured by the caller (clusterMap). */
  mapFrom(site: CallSite, a: unknown, b: unknown, opts: MapOptions = {}): MapJob<unknown> {
    const job = new MapJob<unknown>(this.#cancelJob, site);
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
    void this.runner.run(job, input, opts.signal);
    return job;
  }

  /**
   * Runs a registered function once, on `arg`: resolves with its value, rejects with its error.
   * By name, type it with `call<typeof fn>(name, arg)`.
   */
  call<A, R>(fn: RegisteredFn<A, R>, arg: A, opts?: NamedMapOptions): Promise<Awaited<R>>;
  call<F extends AnyTaskFn = (item: unknown) => unknown>(name: string, arg: ArgOf<F>, opts?: NamedMapOptions): Promise<Awaited<ReturnType<F>>>;
  call(fn: string | RegisteredFn<unknown, unknown>, arg: unknown, opts?: NamedMapOptions): Promise<unknown> {
    // A signal to watch or progress to show: a one-task map does both.
    if (!this.calls || (opts !== undefined && (opts?.signal !== undefined || opts?.progress !== undefined))) return this.callAsMap(captureCallSite(Session.prototype.call), fn, arg, opts);
    let input: PreparedMap;
    try {
      input = this.prepare([arg], toNamed(fn, (opts ?? {}) as MapOptions), opts === undefined ? {} : opts);
    } catch (err) {
      return Promise.reject(locateError(FlotillaError.from(err, 'BAD_INPUT'), captureCallSite(Session.prototype.call)));
    }
    return this.#called(this.calls.run({ ...input.sched, ...(input.fn as NamedFn), args: input.first, total: 1 }, Session.prototype.call));
  }

  /** Awaits a direct call, so that an error that ends it later carries the app's frames (Calls.locate). */
  async #called(call: Promise<unknown>): Promise<unknown> {
    try {
      return await call;
    } catch (err) {
      throw Calls.locate(err);
    }
  }

  /** `call` as an awaited one-task map. */
  private async callAsMap(site: CallSite, fn: string | RegisteredFn<unknown, unknown>, arg: unknown, opts?: NamedMapOptions): Promise<unknown> {
    // Awaited, not iterated: a one-task job settles without an iterator or a waiter of its own.
    try {
      return (await this.mapFrom(site, fn, [arg], opts))[0];
    } catch (err) {
      // The task's own error, not the job's summary of it.
      const o = (err as { outcomes?: TaskOutcome<unknown>[] }).outcomes?.[0];
      throw o && !o.ok ? o.error : err;
    }
  }

  /** A map whose function (or setup) is a module: built and uploaded first, then run. */
  private async buildAndRun(job: MapJob<unknown>, items: Iterable<unknown>, fn: unknown, opts: MapOptions): Promise<void> {
    let input: PreparedMap;
    this.runner.hold(+1);
    try {
      input = this.prepare(items, new Prebuilt(await this.prepareFunction(fn, opts)), opts);
    } catch (err) {
      return job.fail(FlotillaError.from(err, 'BAD_INPUT'));
    } finally {
      this.runner.hold(-1);
    }
    await this.runner.run(job, input, opts.signal);
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

  /**
   * Removes from `host`'s `~/.cache/flotilla` (an SSH pool's host or a SLURM pool's login node)
   * the agent bundles and runtimes no current agent uses; says what it removed and kept.
   */
  pruneCache(opts: { host: string }): Promise<PruneResult> {
    return this.ask(() => this.trpc.cache.prune.mutate({ host: opts.host }));
  }

  /** Asks every connected agent slot to drop (dispose) setup values: these setup ids, or all. */
  dropSetup(ids?: string[]): Promise<{ lanes: number }> {
    return this.ask(() => this.trpc.agents.dropSetup.mutate({ ids }));
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
    let input: PreparedMap;
    const site = captureCallSite(Session.prototype.submit);
    try {
      if ((opts as MapOptions).progress !== undefined) throw new FlotillaError('BAD_INPUT', 'submit() returns once the job is sent and shows no progress; watch it with attach(jobId, { progress: true })');
      if (isByName(a, b)) input = this.prepare(b as Iterable<unknown>, toNamed(a, opts), opts);
      else if (needsBuild(b, opts)) input = this.prepare(a as Iterable<unknown>, new Prebuilt(await this.prepareFunction(b, opts)), opts);
      else input = shippingFrom(site, () => this.prepare(a as Iterable<unknown>, b as TaskFn<unknown, unknown>, opts));
    } catch (err) {
      throw locateError(fromTRPCError(err), site);
    }
    this.runner.hold(+1);
    try {
      const jobId = await this.runner.send(input);
      if (this.controller && input.list.length > 0) this.runner.holdUntilDone(jobId);
      return jobId;
    } catch (err) {
      throw fromTRPCError(err);
    } finally {
      this.runner.hold(-1);
    }
  }

  /**
   * A handle on a job submitted earlier (by this or another program): awaitable and iterable
   * like the one `map()` returns, replaying results from the first.
   */
  attach<R = unknown>(jobId: string, opts: AttachOptions = {}): MapJob<R> {
    const job = new MapJob<R>(this.#cancelJob);
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
      this.runner.hold(+1);
      try {
        const { total } = await this.trpc.jobs.status.query({ jobId });
        job.started(jobId, total);
        if (total > 0) await this.runner.stream(job, jobId);
      } catch (err) {
        job.fail(fromTRPCError(err));
      } finally {
        this.runner.hold(-1);
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

  /** Jobs the controller knows, newest last. */
  jobs(): Promise<JobStatus[]> {
    return this.ask(() => this.trpc.jobs.list.query());
  }

  /** The last lines agents wrote to stderr, oldest first. */
  logs(agentId?: string): Promise<{ agentId: string; at: number; line: string }[]> {
    return this.ask(() => this.trpc.agents.logs.query({ agentId }));
  }

  /** Cancels a job, or one of its tasks. */
  cancel(jobId: string, index?: number): Promise<{ cancelled: number }> {
    return this.ask(() => this.trpc.jobs.cancel.mutate({ jobId, index }));
  }

  /** A job's progress. */
  status(jobId: string): Promise<JobStatus> {
    return this.ask(() => this.trpc.jobs.status.query({ jobId }));
  }

  /**
   * The live dashboard's address, carrying the token once: open it in a browser on this machine
   * (it trades the token for a cookie and drops it from the address bar). Treat it as the token.
   */
  dashboardUrl(): string {
    return this.dashboardAt;
  }

  /** Pools and connected agent slots. */
  agents(): Promise<{ pools: PoolStatus[]; lanes: LaneInfo[] }> {
    return this.ask(() => this.trpc.agents.list.query());
  }

  /** A call to the controller; its failure as a FlotillaError. */
  private async ask<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw fromTRPCError(err);
    }
  }

  /** Ends the session; an embedded controller stops its agents. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runner.close(new FlotillaError('CLOSED', 'the session was closed before the job finished'));
    this.calls?.close(new FlotillaError('CLOSED', 'the session was closed before the call finished'));
    await this.onClose();
  }
}
