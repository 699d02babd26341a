/**
 * The controller's pools, together: started from their plans, failing the queued work of a pool
 * that gave up, answering which lanes are connected, and waiting for lanes. Agents' stderr lines
 * land in the log ring and the event stream.
 */
import { FlotillaError } from '../contract/errors.js';
import type { ErrorInfo } from '../contract/errors.js';
import { Pool } from './pool.js';
import type { PoolStatus } from './pool.js';
import { createLauncher } from './pool-options.js';
import type { PoolPlan } from './pool-options.js';
import { LocalLauncher } from './launchers/local/launcher.js';
import { agentBundle } from './launchers/ssh/remote.js';
import { agentBundlePath } from './bundle.js';
import type { PruneResult } from './runtime/prune.js';
import type { AgentRegistry } from './registry.js';
import type { Scheduler } from './scheduler.js';
import type { ControlEventStream } from './events.js';
import type { LogRing } from './log-ring.js';
import type { AgentExit } from './launchers/launcher.js';
import { Emitter } from './emitter.js';
import { waitFor } from './wait-for.js';

/** What agent/main.ts puts before each of its stderr lines. */
const AGENT_LINE_PREFIX = /^\[flotilla-agent ([^\]]*)\] /;

export interface PoolSetDeps {
  scheduler: Scheduler;
  registry: AgentRegistry;
  events: ControlEventStream;
  logs: LogRing;
  embedded: boolean;
  log: (line: string) => void;
}

export class PoolSet {
  readonly pools = new Map<string, Pool>();
  /** `failed`: a pool gave up launching. */
  private readonly signals = new Emitter<{ failed: string }>();

  constructor(private readonly deps: PoolSetDeps) {
    deps.scheduler.signals.on('changed', () => {
      for (const p of this.pools.values()) {
        p.lanesChanged();
        // A pool that gave up while it still had lanes: once they are gone, its waiting tasks fail.
        if (p.failure) this.failPool(p.name, p.failure);
      }
    });
  }

  /** Starts each pool's agents; local agents dial `localAgentUrl`, the others `agentUrl`. */
  start(plans: Record<string, PoolPlan>, urls: { agentUrl: string; localAgentUrl: string }): void {
    const { scheduler, registry, events, logs, log, embedded } = this.deps;
    for (const [name, plan] of Object.entries(plans)) {
      const launcher = createLauncher(name, plan, {
        embedded,
        agentUrl: urls.agentUrl,
        log,
        onAgentLog: (id, raw) => {
          // The agent stamps its own lines; the controller's log and `flotilla logs` stamp them
          // again, so the line keeps its text and its time (the agent's) goes to the ring.
          const m = AGENT_LINE_PREFIX.exec(raw);
          const line = m ? raw.slice(m[0].length) : raw;
          logs.push(id, line, m ? Date.parse(m[1]!) : undefined);
          if (events.watched) events.emit('agent.log', { agentId: id, line });
          log(`${id}: ${line}`);
        },
      });
      const pool = new Pool(name, plan, launcher, registry, plan.local ? urls.localAgentUrl : urls.agentUrl, log, scheduler, {
        events,
        // Not `queued > 0`: the exit may be seen before the dropped connection requeues its tasks.
        hasWork: () => [...scheduler.jobs.values()].some((j) => j.pool === name && !j.finished),
      });
      pool.signals.on('failed', (reason) => {
        this.failPool(name, reason);
        this.signals.emit('failed', reason);
      });
      this.pools.set(name, pool);
      pool.ensure();
    }
  }

  /**
   * A pool that cannot start agents fails its queued tasks (LAUNCH_FAILED, with the pool's
   * reason) instead of leaving them to wait forever; while it still has a lane, they wait for
   * that lane. Called when the pool gives up and whenever lanes come or go.
   */
  private failPool(name: string, reason: string): void {
    const { scheduler } = this.deps;
    if ([...scheduler.lanes].some((l) => l.pool === name)) return;
    for (const job of scheduler.jobs.values()) {
      if (job.pool !== name || job.finished) continue;
      const error: ErrorInfo = { code: 'LAUNCH_FAILED', message: reason, context: { jobId: job.id, pool: name } };
      job.failRest(error, { queuedOnly: true });
    }
  }

  status(): PoolStatus[] {
    return [...this.pools.values()].map((p) => p.status());
  }

  /** Where an agent's process exit will be reported, if a pool of this controller started it. */
  exitOf(agentId: string): Promise<AgentExit> | undefined {
    for (const pool of this.pools.values()) {
      const h = pool.handles.get(agentId);
      if (h) return h.exited;
    }
    return undefined;
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

  /** Resolves once `n` lanes are connected (of `pool`, if given); fails early when the pool gives up. */
  async waitForLanes(n: number, opts: { pool?: string; timeoutMs?: number } = {}): Promise<void> {
    const count = () => [...this.deps.scheduler.lanes].filter((l) => !opts.pool || l.pool === opts.pool).length;
    const failed = () => [...this.pools.values()].some((p) => p.failure && (!opts.pool || p.name === opts.pool));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    await waitFor({
      ready: () => count() >= n,
      failed: () => (failed() ? new FlotillaError('LAUNCH_FAILED', `only ${count()} of ${n} agent slots connected${this.failures()}`) : undefined),
      on: [(check) => this.deps.scheduler.signals.on('changed', check), (check) => this.signals.on('failed', check)],
      timeoutMs,
      timedOut: () => new FlotillaError('AGENT_LOST', `only ${count()} of ${n} agent slots connected within ${timeoutMs} ms${this.failures()}`),
    });
  }

  private failures(): string {
    const failures = [...this.pools.values()].map((p) => p.failure).filter(Boolean);
    return failures.length ? `: ${failures.join('; ')}` : '';
  }

  /** On process exit, where nothing async runs: kill local agents. */
  killAllSync(): void {
    for (const p of this.pools.values()) if (p.launcher instanceof LocalLauncher) p.launcher.killAllSync();
  }

  /** Stops every pool's agents (gracefully, then by force). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.close()));
  }
}
