/**
 * The controller: one HTTP server on one port carrying the tRPC API (HTTP and WebSocket) and the
 * agent endpoint (WebSocket path /agent), the scheduler, the key registry and the pools.
 * Listens on loopback unless told otherwise, and refuses to listen elsewhere without a token.
 */
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { badInput, FlotillaError } from '../contract/errors.js';
import type { Identity } from '../agent/protocol/identity.js';
import { AgentEndpoint, AGENT_PATH } from './agent-endpoint.js';
import { AgentRegistry } from './registry.js';
import { Scheduler } from './scheduler.js';
import { DONE, Job } from './job.js';
import type { JobStatus } from './job.js';
import type { ErrorInfo } from '../contract/errors.js';
import { MAX_TOTAL, checkArgs, checkGlobals } from './submit-checks.js';
import { Pool } from './pool.js';
import type { PoolStatus } from './pool.js';
import { createLauncher, planPools } from './pool-options.js';
import type { PoolPlan } from './pool-options.js';
import type { LaneInfo } from './lane.js';
import { LocalLauncher } from './launchers/local.js';
import { agentBundle } from './launchers/ssh/remote.js';
import { agentBundlePath } from './bundle.js';
import type { PruneResult } from './runtime/prune.js';
import { appRouter } from './router.js';
import type { Context } from './router.js';
import { loadIdentity, loadToken, tokenPath } from './state.js';
import { privateDir } from './private-files.js';
import { LogRing } from './log-ring.js';
import { listenLocalSocket } from './local-socket.js';
import { listenEndpoint, refuseBody } from './client-endpoint.js';
import type { Endpoint } from './client-endpoint.js';
import { MAX_MESSAGE_BYTES, mib } from '../contract/limits.js';
import { tlsSetup } from './tls.js';
import type { TlsSetup } from './tls.js';
import type { AppendInput, SubmitInput } from '../contract/schemas.js';
import { JobStore } from './store/job-store.js';
import { choosePool } from './routing.js';
import type { ControllerOptions } from './controller-options.js';
import { controllerOptionsSchema } from './controller-options.js';
import { checkOptions } from '../contract/option-check.js';
import { FlowManager } from './flows/manager.js';
import { flowDbPath } from './flows/location.js';
import { ArtifactStore } from './artifacts.js';
import { specArtifacts } from '../contract/fnspec.js';
import { FunctionRegistry } from './functions/registry.js';
import { memoryTable, sqliteTable } from './functions/function-table.js';
import { ControlEventStream } from './events.js';
import { JobActivity } from './job-activity.js';

export const VERSION = '0.1.0';

export type { ControllerOptions } from './controller-options.js';

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * A client's WebSocket that sends a message over the limit is closed by `ws` with 1009 and no
 * reason; this gives the close its reason, so the client reads why.
 */
function explainTooBig(ws: import('ws').WebSocket): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) => close(code, reason ?? (code === 1009 ? `message over the controller's limit of ${mib(MAX_MESSAGE_BYTES)}` : undefined));
}
/** What agent/main.ts puts before each of its stderr lines. */
/** A finished job is kept at least this long for its submitter to collect (see `retire`)... */
const RETAIN_FINISHED_MS = 60_000;
/** ...unless more than this many finished that recently. */
const MAX_RECENT_JOBS = 100_000;
function withoutListenerLimit(signal: AbortSignal): AbortSignal {
  setMaxListeners(0, signal);
  return signal;
}
const AGENT_LINE_PREFIX = /^\[flotilla-agent ([^\]]*)\] /;

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Controller {
  readonly version = VERSION;
  /** The control plane's events: jobs, tasks, lanes, pools, agents; any number of subscribers. */
  readonly events = new ControlEventStream();
  readonly scheduler = new Scheduler(this.events, new JobActivity(this.events, (job) => this.jobStatus(job)));
  readonly registry: AgentRegistry;
  readonly pools = new Map<string, Pool>();
  /** Recent agent stderr lines, for `flotilla logs`. */
  readonly logs = new LogRing(2000);
  readonly defaultPool: string;
  /** http://host:port of the API. */
  url = '';
  /** ws://host:port/agent, where agents dial. */
  agentUrl = '';
  /** SHA-256 fingerprint of the certificate clients see, when it serves TLS (AA:BB:...). */
  fingerprint: string | undefined;
  /** Where local agents dial: the Unix socket in the state folder when there is one, else agentUrl. */
  localAgentUrl = '';
  private localSocket: { server: Server; path: string } | undefined;
  private endpoint!: AgentEndpoint;
  private server!: Endpoint;
  private trpcWss!: WebSocketServer;
  private closed = false;
  /** Job ids: a random prefix per controller and a counter, unique without a syscall each. */
  private readonly idPrefix = randomBytes(4).toString('hex');
  private jobCounter = 0;
  private readonly finishedJobs: { id: string; at: number }[] = [];
  /** Callers of waitForLanes, checked whenever lanes come or go. */
  private readonly laneWaiters = new Set<() => void>();
  private readonly killOnExit = () => this.killAgentsSync();
  private readonly closing = new AbortController();
  /**
   * Aborted when the controller starts closing: result streams end with CLOSED. Every open
   * result stream listens to it, so it takes any number of listeners without a leak warning.
   */
  readonly closingSignal: AbortSignal = withoutListenerLimit(this.closing.signal);
  /** The durable job store, when there is one. */
  readonly store: JobStore | undefined;
  /** Flows: parameter grids run through stages, as one job of units each. */
  readonly flows: FlowManager;
  /** Module artifacts clients uploaded (persisted in the job store when durable). */
  readonly artifacts: ArtifactStore;
  /** Functions registered by name; kept in the job store's database when durable. */
  readonly functions: FunctionRegistry;

  private constructor(
    private readonly opts: ControllerOptions & { log: (line: string) => void },
    private readonly identity: Identity,
    readonly stateDir: string,
    readonly token: string | undefined,
    private readonly ownsStateDir: boolean,
  ) {
    this.store = (opts.durable ?? !opts.embedded) ? new JobStore(stateDir) : undefined;
    this.registry = new AgentRegistry(identity, this.store);
    this.flows = new FlowManager(this, flowDbPath(opts, stateDir), opts.log);
    this.artifacts = new ArtifactStore(this.store?.artifacts);
    this.scheduler.artifacts = this.artifacts;
    this.functions = new FunctionRegistry(this.store ? sqliteTable(this.store.database) : memoryTable(), { hasArtifact: (h) => this.artifacts.has(h) });
    this.scheduler.signals.on('changed', () => {
      for (const p of this.pools.values()) {
        p.lanesChanged();
        // A pool that gave up while it still had lanes: once they are gone, its waiting tasks fail.
        if (p.failure) this.failPool(p.name, p.failure);
      }
      this.laneWaiters.forEach((check) => check());
    });
    this.scheduler.maxTasksOf = (pool) => this.pools.get(pool)?.opts.maxTasks;
    const names = Object.keys(opts.pools ?? { local: {} });
    this.defaultPool = opts.defaultPool ?? names[0] ?? 'local';
  }

  /** Module artifacts sent to agents: in total and per agent id. */
  get artifactTransfers(): { total: number; byAgent: Record<string, number> } {
    const t = this.scheduler.transfers;
    return { total: t.total, byAgent: Object.fromEntries(t.byAgent) };
  }

  /** Where the token is stored, for clients of a standalone controller. */
  get tokenFile(): string | undefined {
    return this.token ? tokenPath(this.stateDir) : undefined;
  }

  /** Starts a controller and its pools' agents. */
  static async start(options: ControllerOptions = {}): Promise<Controller> {
    checkOptions(controllerOptionsSchema, options, 'controller options');
    // An embedded controller speaks only when asked to (FLOTILLA_DEBUG=1): its failures reach the
    // caller as errors; a standalone one logs to stderr.
    const toStderr = (line: string) => void process.stderr.write(`[flotilla ${new Date().toISOString()}] ${line}\n`);
    const log = options.log ?? (options.embedded && !process.env.FLOTILLA_DEBUG ? () => {} : toStderr);
    const host = options.host ?? '127.0.0.1';
    const requireToken = options.requireToken ?? true;
    if (!requireToken && !isLoopback(host)) {
      throw new FlotillaError('BAD_INPUT', `refusing to listen on ${host} without a token: only a loopback controller may set requireToken: false`);
    }
    // Clients send the token, arguments and results: beyond loopback, only under TLS. (An embedded
    // controller's clients are in its process; only agents, whose channel is sealed, dial it.)
    if (!isLoopback(host) && !options.tls && !options.embedded) {
      throw new FlotillaError(
        'BAD_INPUT',
        `refusing to listen on ${host} without TLS: the token, arguments and results would cross the network in plaintext. ` +
          `Give a certificate (--tls-cert FILE --tls-key FILE, or tls: { cert, key }), or --tls self-signed (tls: 'self-signed') and pin the fingerprint it prints; ` +
          `or keep the controller on 127.0.0.1 and forward its port from your machine: ssh -L 7711:127.0.0.1:7711 <this host>`,
      );
    }
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) badInput('port', port, 'an integer in [0, 65535]');
    const hb = options.heartbeatMs;
    if (hb !== undefined && !(Number.isInteger(hb) && hb >= 100 && hb <= 5000)) badInput('heartbeatMs', hb, 'an integer from 100 to 5000 (agents presume a controller silent for 16 s gone)');
    const pools = planPools(options.pools); // before anything is created that would need undoing
    const ownsStateDir = !options.stateDir && !!options.embedded;
    const stateDir = options.stateDir ?? (options.embedded ? mkdtempSync(join(tmpdir(), 'flotilla-')) : join(process.env.HOME ?? tmpdir(), '.flotilla'));
    const wider = privateDir(stateDir);
    if (wider) log(`the state folder ${stateDir} was mode ${wider}: narrowed to 0700 (it holds keys, the token and jobs)`);
    // An embedded controller is reached in process only; its token guards the socket anyway.
    const token = !requireToken ? undefined : options.embedded && !options.stateDir ? randomBytes(32).toString('base64url') : loadToken(stateDir);
    const c = new Controller({ ...options, log }, loadIdentity(stateDir), stateDir, token, ownsStateDir);
    try {
      c.restoreJobs();
      if (c.store) c.flows.resume();
      const tls = options.tls === undefined ? undefined : await tlsSetup(options.tls, stateDir, host);
      c.fingerprint = tls?.fingerprint;
      await c.listen(host, port, tls);
      c.startPools(pools);
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  private async listen(host: string, port: number, tls: TlsSetup | undefined): Promise<void> {
    const createContext = ({ req }: { req: IncomingMessage }): Context => ({ controller: this, authorized: this.headerAuthorized(req) });
    const http = createHTTPHandler({ router: appRouter, createContext: ({ req }) => createContext({ req }), basePath: '/trpc/', maxBodySize: MAX_MESSAGE_BYTES });
    this.trpcWss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
    this.trpcWss.on('connection', explainTooBig);
    applyWSSHandler({
      wss: this.trpcWss,
      router: appRouter,
      createContext: ({ req, res }) => ({ ...createContext({ req }), ws: res }),
      keepAlive: { enabled: true, pingMs: 10_000, pongWaitMs: 5_000 },
    });
    this.endpoint = new AgentEndpoint({
      identity: this.identity,
      registry: this.registry,
      scheduler: this.scheduler,
      maxFrameBytes: this.opts.maxFrameBytes ?? 256 * 1024 * 1024,
      unrefSockets: !!this.opts.embedded,
      heartbeatMs: this.opts.heartbeatMs,
      exitOf: (agentId) => {
        for (const pool of this.pools.values()) {
          const h = pool.handles.get(agentId);
          if (h) return h.exited;
        }
        return undefined;
      },
      log: this.opts.log,
    });
    this.scheduler.signals.on('stuck', ({ lane, why }) => {
      if (!this.endpoint.recycle(lane, why)) this.opts.log(`lane ${lane.agentId}/${lane.hello.lane} is stuck (${why}) and its agent has no control connection`);
    });
    this.server = await listenEndpoint({
      host,
      port,
      tls,
      limits: this.opts.connectionLimits,
      log: this.opts.log,
      agentPath: AGENT_PATH,
      onRequest: (req, res) => {
        const authorized = this.headerAuthorized(req);
        if (authorized) this.server.guard.settle(req.socket);
        if (refuseBody(req, res, authorized)) return;
        if (req.url?.startsWith('/trpc/')) return void http(req, res);
        res.writeHead(404, { 'content-type': 'text/plain' }).end('flotilla controller: API under /trpc/, agents under /agent\n');
      },
      onUpgrade: (req, socket, head) => {
        const path = (req.url ?? '').split('?')[0];
        if (path === AGENT_PATH) {
          this.server.guard.settle(req.socket); // the agent endpoint keeps its own budget of strangers
          this.endpoint.handleUpgrade(req, socket, head);
        } else if (path === '/trpc' || path === '/trpc/') {
          // No socket at all without the token: nobody unauthenticated can make us buffer messages.
          if (!this.headerAuthorized(req)) {
            socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nmissing or wrong bearer token\n');
            return;
          }
          this.server.guard.settle(req.socket);
          this.trpcWss.handleUpgrade(req, socket, head, (ws) => this.trpcWss.emit('connection', ws, req));
        } else socket.destroy();
      },
    });
    if (this.opts.embedded) this.server.tcp.unref();
    const addr = this.server.address;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${tls ? 'https' : 'http'}://${h}:${addr.port}`;
    // Agents speak in the clear on the same port even with TLS: their channel is sealed end to end.
    this.agentUrl = `ws://${h}:${addr.port}${AGENT_PATH}`;
    const local = await listenLocalSocket(this.stateDir, (req, socket, head) => this.endpoint.handleUpgrade(req, socket, head, 'unix'), this.opts.log);
    if (local && this.opts.embedded) local.server.unref();
    this.localSocket = local;
    this.localAgentUrl = local?.url ?? this.agentUrl;
  }

  private startPools(pools: Record<string, PoolPlan>): void {
    for (const [name, plan] of Object.entries(pools)) {
      const launcher = createLauncher(name, plan, {
        embedded: !!this.opts.embedded,
        agentUrl: this.agentUrl,
        log: this.opts.log,
        onAgentLog: (id, raw) => {
          // The agent stamps its own lines; the controller's log and `flotilla logs` stamp them
          // again, so the line keeps its text and its time (the agent's) goes to the ring.
          const m = AGENT_LINE_PREFIX.exec(raw);
          const line = m ? raw.slice(m[0].length) : raw;
          this.logs.push(id, line, m ? Date.parse(m[1]!) : undefined);
          if (this.events.watched) this.events.emit('agent.log', { agentId: id, line });
          this.opts.log(`${id}: ${line}`);
        },
      });
      // Local agents dial the Unix socket; other launchers set each agent's URL themselves.
      const pool = new Pool(name, plan, launcher, this.registry, plan.options.launcher === 'local' ? this.localAgentUrl : this.agentUrl, this.opts.log, this.scheduler, {
        events: this.events,
        // Not `queued > 0`: the exit may be seen before the dropped connection requeues its tasks.
        hasWork: () => [...this.scheduler.jobs.values()].some((j) => j.pool === name && !j.finished),
      });
      pool.signals.on('failed', (reason) => {
        this.failPool(name, reason);
        this.laneWaiters.forEach((check) => check());
      });
      this.pools.set(name, pool);
      pool.ensure();
    }
    if (this.opts.embedded) process.once('exit', this.killOnExit);
  }

  /**
   * A pool that cannot start agents fails its queued tasks (LAUNCH_FAILED, with the pool's
   * reason) instead of leaving them to wait forever; while it still has a lane, they wait for
   * that lane. Called when the pool gives up and whenever lanes come or go.
   */
  private failPool(name: string, reason: string): void {
    if ([...this.scheduler.lanes].some((l) => l.pool === name)) return;
    for (const job of this.scheduler.jobs.values()) {
      if (job.pool !== name || job.finished) continue;
      const error: ErrorInfo = { code: 'LAUNCH_FAILED', message: reason, context: { jobId: job.id, pool: name } };
      for (let i = 0; i < job.total; i++) if (job.state[i] === 0) job.record({ index: i, ok: false, error });
    }
  }

  /**
   * Jobs the store holds from before a restart: finished ones can still be collected; the others
   * go on, their finished tasks kept and everything else queued again.
   */
  private restoreJobs(): void {
    if (!this.store) return;
    for (const row of this.store.jobs()) {
      if (row.finishedAt === undefined && row.total > MAX_TOTAL) {
        // An older controller took any count: run the tasks that arrived, drop the rest.
        this.opts.log(`job ${row.id} declares ${row.total} tasks, more than the ${MAX_TOTAL} a job may have; it goes on with the ${row.appended} whose arguments arrived`);
        row.total = row.appended;
        this.store.setTotal(row.id, row.total);
      }
      const job = Job.restore(row, this.store);
      if (job.finished) {
        this.scheduler.jobs.set(job.id, job);
        this.retire(job);
        continue;
      }
      job.signals.on('finished', (j) => this.retire(j));
      this.scheduler.submit(job);
      // A job whose submitter was cut off by the crash will get no more arguments.
      if (!job.sealed) this.abandonSubmission(job.id, 'the controller restarted before this job was fully submitted');
      if (job.cancelled) this.scheduler.cancel(job.id);
      this.opts.log(`resumed job ${job.id}: ${job.done} of ${job.total} tasks already finished`);
    }
  }

  /**
   * Queues a map (or its first chunk of arguments); returns its job id. Everything is checked
   * before anything is created, and a failure after that undoes what was: a submit that throws
   * leaves nothing scheduled.
   */
  submit(input: SubmitInput, flow?: string): { jobId: string; total: number } {
    if (this.closed) throw new FlotillaError('CLOSED', 'the controller is closed');
    const total = input.total ?? input.args.length;
    if (!Number.isSafeInteger(total) || total < 0 || total > MAX_TOTAL) badInput('total', total, `a task count from 0 to ${MAX_TOTAL} (split larger work into several jobs)`);
    const lacking = this.artifacts.missing(input.fn ? specArtifacts(input.fn) : []);
    if (lacking.length > 0) throw new FlotillaError('BAD_INPUT', `the function needs module artifact(s) the controller does not have: ${lacking.join(', ')} (upload them with artifacts.put first)`, { context: { missing: lacking } });
    if (input.args.length > total) badInput('total', total, `at least the ${input.args.length} arguments given`);
    checkArgs(input.args, 0);
    const fn = input.fn ?? this.functions.resolve(input.fnName!, input.fnVersion);
    checkGlobals(fn);
    const pool = choosePool(this.pools, input, this.defaultPool);
    if (pool.failure) throw new FlotillaError('LAUNCH_FAILED', pool.failure);
    const job = new Job(
      { id: `j-${this.idPrefix}${(this.jobCounter++).toString(36)}`, fn, total, pool: pool.name, retries: input.retries ?? 2, crashLimit: input.crashLimit ?? 3, timeoutMs: input.timeoutMs ?? 0 },
      this.store,
    );
    try {
      job.persist();
      job.append(0, input.args);
      job.signals.on('finished', (j) => this.retire(j));
      this.scheduler.submit(job, flow);
    } catch (err) {
      this.scheduler.withdraw(job);
      this.store?.deleteJob(job.id);
      throw err;
    }
    if (job.finished) this.retire(job);
    pool.ensure();
    return { jobId: job.id, total: job.total };
  }

  /** More arguments of a job submitted in chunks. */
  append(input: AppendInput): { appended: number } {
    if (this.closed) throw new FlotillaError('CLOSED', 'the controller is closed');
    const job = this.job(input.jobId);
    if (job.sealed || job.cancelled) throw new FlotillaError('BAD_INPUT', `job ${job.id} takes no more arguments (${job.cancelled ? 'cancelled' : 'all ' + job.total + ' arrived'})`);
    if (input.offset !== job.appended) badInput('offset', input.offset, `${job.appended}, where job ${job.id}'s arguments stop`);
    if (input.offset + input.args.length > job.total) badInput('args', `${input.args.length} arguments`, `at most ${job.total - job.appended} more for job ${job.id}`);
    checkArgs(input.args, input.offset);
    job.append(input.offset, input.args);
    this.scheduler.extended(job);
    this.pools.get(job.pool)?.ensure();
    return { appended: job.appended };
  }

  /** A submitter went away mid-submission: the tasks it never sent fail, the rest run. */
  abandonSubmission(jobId: string, why: string): void {
    const job = this.scheduler.jobs.get(jobId);
    if (!job || job.sealed || job.finished) return;
    // One error shared by every such task (clients fill taskIndex in from each result's index).
    const error: ErrorInfo = { code: 'CANCELLED', message: `never submitted: ${why}`, context: { jobId, pool: job.pool } };
    for (let i = job.appended; i < job.total; i++) job.record({ index: i, ok: false, error });
  }

  /**
   * Keeps the newest `retainJobs` finished jobs for late collection; forgets older ones, but not
   * before they have been finished for RETAIN_FINISHED_MS (up to MAX_RECENT_JOBS of them): a
   * client that submitted thousands of small jobs at once may subscribe to a job's results
   * after thousands of others have finished.
   */
  private retire(job: Job): void {
    this.finishedJobs.push({ id: job.id, at: Date.now() });
    const keep = this.opts.retainJobs ?? 1000;
    const recent = Date.now() - RETAIN_FINISHED_MS;
    while (this.finishedJobs.length > keep) {
      const oldest = this.finishedJobs[0]!;
      if (oldest.at > recent && this.finishedJobs.length <= MAX_RECENT_JOBS) break;
      this.finishedJobs.shift();
      this.scheduler.jobs.delete(oldest.id);
      this.store?.deleteJob(oldest.id);
    }
  }

  /** A job by id, or NOT_FOUND. */
  job(id: string): Job {
    const job = this.scheduler.jobs.get(id);
    if (!job) throw new FlotillaError('NOT_FOUND', `no job ${id} on this controller`);
    return job;
  }

  /** A job's progress, and why its queued tasks wait when no agent of its pool takes work. */
  jobStatus(job: Job): JobStatus {
    const s = job.status();
    if (s.queued === 0 || job.finished) return s;
    const waiting = this.pools.get(job.pool)?.waitingReason();
    return waiting === undefined ? s : { ...s, waiting };
  }

  /** Pools and connected lanes. */
  agents(): { pools: PoolStatus[]; lanes: LaneInfo[] } {
    // The launcher knows which Node it started each agent with (SSH and SLURM pools).
    const runtime = (l: { pool: string; agentId: string }) => this.pools.get(l.pool)?.handles.get(l.agentId)?.runtime;
    return { pools: [...this.pools.values()].map((p) => p.status()), lanes: [...this.scheduler.lanes].map((l) => ({ ...l.info(), runtime: runtime(l) })) };
  }

  /**
   * Removes from an SSH host's (or SLURM login node's) `~/.cache/flotilla` the agent bundles and
   * runtimes no current agent uses: kept are this controller's bundle, the runtimes its agents and
   * connections use, and whatever a process on the host runs.
   */
  async pruneCache(host: string): Promise<PruneResult> {
    const keep = new Set([`agent-${agentBundle(agentBundlePath()).hash}.mjs`]);
    for (const p of this.pools.values()) {
      for (const h of p.handles.values()) if (h.runtime?.sha256) keep.add(`runtime/${h.runtime.sha256}`);
      for (const sha of p.launcher.runtimesInUse?.() ?? []) keep.add(`runtime/${sha}`);
    }
    const owner = [...this.pools.values()].find((p) => p.launcher.hasHost?.(host) && p.launcher.pruneCache);
    if (!owner) {
      const known = [...this.pools.values()].flatMap((p) => ((p.launcher.status?.() ?? []) as { host?: string }[]).flatMap((s) => (s.host ? [s.host] : [])));
      throw new FlotillaError('NOT_FOUND', `no SSH or SLURM pool of this controller reaches host ${JSON.stringify(host)}${known.length ? ` (its SSH hosts: ${[...new Set(known)].join(', ')})` : ''}`);
    }
    return owner.launcher.pruneCache!(host, [...keep]);
  }

  /** Resolves once `n` lanes are connected (of `pool`, if given). */
  async waitForLanes(n: number, opts: { pool?: string; timeoutMs?: number } = {}): Promise<void> {
    const count = () => [...this.scheduler.lanes].filter((l) => !opts.pool || l.pool === opts.pool).length;
    if (count() >= n) return;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        const failed = count() < n && [...this.pools.values()].some((p) => p.failure && (!opts.pool || p.name === opts.pool));
        if (count() < n && !failed) return;
        clearTimeout(timer);
        this.laneWaiters.delete(check);
        if (failed) reject(new FlotillaError('LAUNCH_FAILED', `only ${count()} of ${n} agent slots connected${this.poolFailures()}`));
        else resolve();
      };
      const timer = setTimeout(() => {
        this.laneWaiters.delete(check);
        if (count() >= n) resolve();
        else reject(new FlotillaError('AGENT_LOST', `only ${count()} of ${n} agent slots connected within ${timeoutMs} ms${this.poolFailures()}`));
      }, timeoutMs);
      this.laneWaiters.add(check);
    });
  }

  private poolFailures(): string {
    const failures = [...this.pools.values()].map((p) => p.failure).filter(Boolean);
    return failures.length ? `: ${failures.join('; ')}` : '';
  }

  /** Whether a request carries this controller's token as `Authorization: Bearer`. */
  private headerAuthorized(req: IncomingMessage): boolean {
    if (!this.token) return true;
    const header = req.headers.authorization;
    return typeof header === 'string' && header.startsWith('Bearer ') && tokensEqual(header.slice(7), this.token);
  }

  /** Logs an unexpected error a client's call met: the client is told only that it happened. */
  reportInternal(what: string, err: unknown): void {
    this.opts.log(`${what} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  /** A context for in-process callers (the embedded client), already authorized. */
  localContext(): Context {
    return { controller: this, authorized: true, local: true };
  }

  /** On process exit, where nothing async runs: kill agents, remove a private state folder. */
  private killAgentsSync(): void {
    for (const p of this.pools.values()) if (p.launcher instanceof LocalLauncher) p.launcher.killAllSync();
    if (this.ownsStateDir) rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Stops agents (gracefully, then by force), closes sockets, removes a private state folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.killOnExit);
    this.closing.abort();
    this.scheduler.shutdown('controller closing');
    // Every waiting client gets an answer: what did not finish, will not. Durable jobs instead
    // stay as they are, to go on at the next start.
    for (const job of this.store ? [] : this.scheduler.jobs.values()) {
      const error: ErrorInfo = { code: 'CLOSED', message: 'the controller closed before this task finished', context: { jobId: job.id, pool: job.pool } };
      for (let i = 0; !job.finished && i < job.total; i++) if (job.state[i] !== DONE) job.record({ index: i, ok: false, error });
    }
    await Promise.allSettled([...this.pools.values()].map((p) => p.close()));
    this.endpoint?.close();
    if (this.trpcWss) {
      // Let the result streams' CLOSED errors reach their clients before the sockets go.
      if (this.trpcWss.clients.size > 0) await new Promise((r) => setTimeout(r, 50));
      for (const ws of this.trpcWss.clients) ws.terminate();
      this.trpcWss.close();
    }
    await this.server?.close();
    if (this.localSocket) {
      const { server } = this.localSocket;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
    }
    this.flows.close();
    this.store?.close();
    if (this.ownsStateDir) rmSync(this.stateDir, { recursive: true, force: true });
  }
}

