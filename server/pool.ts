/**
 * A pool: a named set of agents started by one launcher. It keeps up to `agents` agents alive
 * while its jobs have work: a crashed or killed agent is replaced; one that left because it was
 * idle is started again when work comes. Launches that keep failing stop, with the reason kept.
 */
import type { FlotillaError } from '../agent/protocol/errors.js';
import type { AgentRegistry } from './registry.js';
import type { AgentExit, AgentHandle, Launcher } from './launchers/launcher.js';
import type { PoolPlan } from './pool-options.js';

/** Options of a pool of local agents. */
export interface LocalPoolOptions {
  launcher: 'local';
  /** Agent processes. @default the machine's cores */
  agents?: number;
  /** Task slots per agent (each a thread). @default 1 */
  slots?: number;
  /** An agent with no task for this long exits. @default 10 minutes */
  idleTimeoutMs?: number;
  /** An agent that cannot reach the controller for this long exits. @default 30 s */
  graceMs?: number;
  /** Node binary for agents. @default the controller's */
  node?: string;
  /** Extra environment for agents. */
  env?: Record<string, string>;
}

/** Launch failures in a row after which a pool stops trying. */
const MAX_FAILURES = 3;
/** An agent that exits this soon after launch, other than cleanly, counts as a failed launch. */
const EARLY_EXIT_MS = 5_000;

export interface PoolStatus {
  name: string;
  launcher: string;
  agents: number;
  running: number;
  failure: string | undefined;
  /** Per host, for launchers that have hosts. */
  hosts?: unknown[];
}

export class Pool {
  readonly handles = new Map<string, AgentHandle>();
  private starting = 0;
  private failures = 0;
  private closing = false;
  private retry: NodeJS.Timeout | undefined;
  /** Why the pool stopped launching, when it did. */
  failure: string | undefined;
  /** Called when the pool gives up, so its queued work can fail instead of waiting. */
  onFailure: ((reason: string) => void) | undefined;
  /** Whether jobs of this pool are unfinished; set by the controller. */
  hasWork: (() => boolean) | undefined;

  constructor(
    readonly name: string,
    readonly opts: PoolPlan,
    readonly launcher: Launcher,
    private readonly registry: AgentRegistry,
    private readonly agentUrl: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts agents until `agents` are running or starting. */
  ensure(): void {
    if (this.closing || this.failure) return;
    while (this.handles.size + this.starting < this.opts.agents) void this.launchOne();
  }

  private async launchOne(): Promise<void> {
    this.starting++;
    const creds = this.registry.issue(this.name, this.agentUrl, { slots: this.opts.slots, idleTimeoutMs: this.opts.idleTimeoutMs, graceMs: this.opts.graceMs });
    const t0 = Date.now();
    let handle: AgentHandle;
    try {
      handle = await this.launcher.launch(creds);
    } catch (err) {
      this.starting--;
      this.registry.revoke(creds.agentId);
      this.failed(`launch failed: ${(err as Error).message}`, (err as FlotillaError).context?.permanent === true);
      return;
    }
    this.starting--;
    if (this.closing) {
      this.registry.revoke(creds.agentId);
      await handle.stop(0);
      return;
    }
    this.handles.set(handle.agentId, handle);
    void handle.exited.then((exit) => this.exited(handle, exit, Date.now() - t0));
  }

  private exited(handle: AgentHandle, exit: AgentExit, livedMs: number): void {
    this.handles.delete(handle.agentId);
    this.registry.revoke(handle.agentId);
    if (this.closing) return;
    if (exit.lostConnection) {
      // Its host's connection dropped: not a failed launch. Start it again (the launcher
      // re-opens the connection, with backoff).
      this.log(`pool ${this.name}: agent ${handle.agentId} lost with its connection to ${handle.host}`);
      this.ensure();
      return;
    }
    const clean = exit.exitCode === 0;
    if (clean) {
      this.failures = 0;
      // Idle agents leave cleanly, but so does one told to stop (SIGTERM) mid-job: its tasks
      // went back to the queue and need an agent now, not at the next submit.
      if (this.hasWork?.()) this.ensure();
      return;
    }
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
    this.log(`pool ${this.name}: agent ${handle.agentId} (pid ${handle.pid}) ended: ${how}`);
    if (livedMs < EARLY_EXIT_MS && !exit.signal) this.failed(`agent ${handle.agentId} exited after ${livedMs} ms with ${how}: ${exit.stderrTail.trim().split('\n').slice(-5).join(' | ')}`);
    else this.failures = 0;
    this.ensure();
  }

  private failed(reason: string, permanent = false): void {
    this.failures++;
    this.log(`pool ${this.name}: ${reason}`);
    if (this.failure) return;
    if (permanent || this.failures >= MAX_FAILURES) {
      this.failure = `pool ${this.name} stopped launching after ${this.failures} failures in a row; last: ${reason}`;
      this.onFailure?.(this.failure);
      return;
    }
    // Try again, later each time; launches in flight at once count as one round.
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.ensure();
    }, 500 * 2 ** this.failures);
    this.retry.unref();
  }

  status(): PoolStatus {
    return { name: this.name, launcher: this.launcher.kind, agents: this.opts.agents, running: this.handles.size, failure: this.failure, hosts: this.launcher.status?.() };
  }

  /** Stops every agent (SIGTERM, then SIGKILL) and revokes their keys. */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    clearTimeout(this.retry);
    await Promise.allSettled([...this.handles.values()].map((h) => h.stop(graceMs)));
    for (const id of this.handles.keys()) this.registry.revoke(id);
    this.handles.clear();
    await this.launcher.close();
  }
}
