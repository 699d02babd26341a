/**
 * The controller, as the composition root: it builds the parts (job store, key registry,
 * scheduler, pools, the core that the API calls, flows, the agent endpoint and the HTTP front
 * door) and wires them. Listens on loopback unless told otherwise, and refuses to listen
 * elsewhere without a token and TLS (server/http/auth.ts).
 */
import { setMaxListeners } from 'node:events';
import { rmSync } from 'node:fs';
import type { Identity } from '../agent/protocol/identity.js';
import { AgentEndpoint } from './agent-endpoint.js';
import { AgentRegistry } from './registry.js';
import { Scheduler } from './scheduler.js';
import type { Pool } from './pool.js';
import { PoolSet } from './pool-set.js';
import { Core } from './core.js';
import type { Context } from './trpc.js';
import { loadIdentity, tokenPath } from './state.js';
import { setUp } from './controller-setup.js';
import { LogRing } from './log-ring.js';
import { Front } from './http/front.js';
import { tlsSetup } from './http/tls.js';
import { JobStore } from './store/job-store.js';
import type { ControllerOptions } from './controller-options.js';
import { FlowManager } from './flows/manager.js';
import { flowDbPath } from './flows/location.js';
import { ArtifactStore } from './artifacts.js';
import { FunctionRegistry } from './functions/registry.js';
import { memoryTable, sqliteTable } from './functions/function-table.js';
import { ControlEventStream } from './events.js';
import { Dashboard } from './dashboard/index.js';
import { controllerSource } from './dashboard/source.js';
import { JobActivity } from './job-activity.js';

export const VERSION = '0.1.0';

export type { ControllerOptions } from './controller-options.js';

type Options = ControllerOptions & { log: (line: string) => void };

/** Every open result stream listens to the closing signal: any number, without a leak warning. */
function withoutListenerLimit(signal: AbortSignal): AbortSignal {
  setMaxListeners(0, signal);
  return signal;
}

export class Controller {
  readonly version = VERSION;
  /** The control plane's events: jobs, tasks, lanes, pools, agents; any number of subscribers. */
  readonly events = new ControlEventStream();
  readonly scheduler: Scheduler;
  readonly registry: AgentRegistry;
  /** Recent agent stderr lines, for `flotilla logs`. */
  readonly logs = new LogRing(2000);
  /** The durable job store, when there is one. */
  readonly store: JobStore | undefined;
  /** Module artifacts clients uploaded (persisted in the job store when durable). */
  readonly artifacts: ArtifactStore;
  /** Functions registered by name; kept in the job store's database when durable. */
  readonly functions: FunctionRegistry;
  /** What the API layer calls: jobs, agents, lanes (the `ControlPlane`). */
  readonly plane: Core;
  /** Flows: parameter grids run through stages, as one job of units each. */
  readonly flows: FlowManager;
  private readonly poolSet: PoolSet;
  private readonly closing = new AbortController();
  /** Aborted when the controller starts closing: result streams end with CLOSED. */
  readonly closingSignal: AbortSignal = withoutListenerLimit(this.closing.signal);
  /** SHA-256 fingerprint of the certificate clients see, when it serves TLS (AA:BB:...). */
  fingerprint: string | undefined;
  private readonly endpoint: AgentEndpoint;
  private front: Front | undefined;
  private dashboard: Dashboard | undefined;
  private readonly killOnExit = () => this.killAgentsSync();

  private constructor(private readonly opts: Options, identity: Identity, readonly stateDir: string, readonly token: string | undefined, private readonly ownsStateDir: boolean) {
    this.store = (opts.durable ?? !opts.embedded) ? new JobStore(stateDir) : undefined;
    this.registry = new AgentRegistry(identity, this.store);
    this.artifacts = new ArtifactStore(this.store?.artifacts);
    this.functions = new FunctionRegistry(this.store ? sqliteTable(this.store.database) : memoryTable(), { hasArtifact: (h) => this.artifacts.has(h) });
    this.scheduler = new Scheduler(this.events, new JobActivity(this.events, (job) => this.plane.jobStatus(job)));
    this.scheduler.artifacts = this.artifacts;
    this.scheduler.maxTasksOf = (pool) => this.pools.get(pool)?.opts.maxTasks;
    this.poolSet = new PoolSet({ scheduler: this.scheduler, registry: this.registry, events: this.events, logs: this.logs, embedded: !!opts.embedded, log: opts.log });
    const { artifacts, functions, store, closingSignal, events, scheduler, registry, logs } = this;
    const defaultPool = opts.defaultPool ?? Object.keys(opts.pools ?? { local: {} })[0] ?? 'local';
    this.plane = new Core({ version: VERSION, defaultPool, events, scheduler, pools: this.poolSet, registry, logs, artifacts, functions, store, closingSignal, retainJobs: opts.retainJobs, log: opts.log });
    this.plane.flows = this.flows = new FlowManager(this.plane, flowDbPath(opts, stateDir), opts.log);
    this.endpoint = new AgentEndpoint({
      identity, registry, scheduler,
      maxFrameBytes: opts.maxFrameBytes ?? 256 * 1024 * 1024,
      unrefSockets: !!opts.embedded,
      heartbeatMs: opts.heartbeatMs,
      exitOf: (agentId) => this.poolSet.exitOf(agentId),
      log: opts.log,
    });
    scheduler.signals.on('stuck', ({ lane, why }) => {
      if (!this.endpoint.recycle(lane, why)) opts.log(`lane ${lane.agentId}/${lane.hello.lane} is stuck (${why}) and its agent has no control connection`);
    });
  }

  /** Starts a controller and its pools' agents. */
  static async start(options: ControllerOptions = {}): Promise<Controller> {
    const { log, host, port, pools, stateDir, ownsStateDir, token } = setUp(options);
    const c = new Controller({ ...options, log }, loadIdentity(stateDir), stateDir, token, ownsStateDir);
    try {
      c.plane.restoreJobs();
      if (c.store) c.flows.resume();
      const tls = options.tls === undefined ? undefined : await tlsSetup(options.tls, stateDir, host);
      c.fingerprint = tls?.fingerprint;
      c.dashboard = new Dashboard(controllerSource(c), { token, secure: !!tls, unref: !!options.embedded });
      c.front = await Front.listen({ host, port, tls, token, stateDir, limits: options.connectionLimits, unref: !!options.embedded, plane: c.plane, agents: c.endpoint, dashboard: c.dashboard, log });
      c.poolSet.start(pools, { agentUrl: c.agentUrl, localAgentUrl: c.localAgentUrl });
      if (options.embedded) process.once('exit', c.killOnExit);
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  /** http(s)://host:port of the API. */
  get url(): string {
    return this.front?.url ?? '';
  }
  /** ws://host:port/agent, where agents dial. */
  get agentUrl(): string {
    return this.front?.agentUrl ?? '';
  }
  /** Where local agents dial: the Unix socket in the state folder when there is one, else agentUrl. */
  get localAgentUrl(): string {
    return this.front?.localAgentUrl ?? '';
  }
  get pools(): ReadonlyMap<string, Pool> {
    return this.poolSet.pools;
  }
  get defaultPool(): string {
    return this.plane.defaultPool;
  }
  /** The dashboard's address with the token, once: opening it in a browser logs the browser in. */
  get dashboardUrl(): string {
    return this.dashboard?.loginUrl(this.url) ?? '';
  }
  /** Where the token is stored, for clients of a standalone controller. */
  get tokenFile(): string | undefined {
    return this.token ? tokenPath(this.stateDir) : undefined;
  }
  /** Module artifacts sent to agents: in total and per agent id. */
  get artifactTransfers(): { total: number; byAgent: Record<string, number> } {
    const t = this.scheduler.transfers;
    return { total: t.total, byAgent: Object.fromEntries(t.byAgent) };
  }

  // The core's calls, for in-process callers (the embedded client, tests).
  readonly submit: Core['submit'] = (input, flow) => this.plane.submit(input, flow);
  readonly append: Core['append'] = (input) => this.plane.append(input);
  readonly job: Core['job'] = (id) => this.plane.job(id);
  readonly jobStatus: Core['jobStatus'] = (job) => this.plane.jobStatus(job);
  readonly agents: Core['agents'] = () => this.plane.agents();
  readonly pruneCache: Core['pruneCache'] = (host) => this.plane.pruneCache(host);
  /** Resolves once `n` lanes are connected (of `pool`, if given). */
  readonly waitForLanes: PoolSet['waitForLanes'] = (n, opts) => this.poolSet.waitForLanes(n, opts);

  /** A context for in-process callers (the embedded client), already authorized. */
  localContext(): Context {
    return { plane: this.plane, authorized: true, local: true };
  }

  /** On process exit, where nothing async runs: kill agents, remove a private state folder. */
  private killAgentsSync(): void {
    this.poolSet.killAllSync();
    if (this.ownsStateDir) rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Stops agents (gracefully, then by force), closes sockets, removes a private state folder. */
  async close(): Promise<void> {
    if (this.plane.closed) return;
    this.plane.closed = true;
    process.off('exit', this.killOnExit);
    this.closing.abort();
    this.scheduler.shutdown('controller closing');
    this.plane.failUnfinished();
    await this.poolSet.close();
    this.endpoint.close();
    this.dashboard?.close();
    await this.front?.close();
    this.flows.close();
    this.store?.close();
    if (this.ownsStateDir) rmSync(this.stateDir, { recursive: true, force: true });
  }
}
