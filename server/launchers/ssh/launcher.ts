/**
 * Agents on hosts reached over SSH. Each host is a RemoteHost (remote/host.ts: connection,
 * Node, bundle, direct or tunnelled dial-back, made once per connection); agents start on it
 * attached to an exec channel, or detached (agents.ts). A dropped connection is re-opened (with
 * backoff) when agents are started again; a host that keeps failing is set aside and the others
 * go on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Client as SshClient } from 'ssh2';
import { FlotillaError } from '../../../contract/errors.js';
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { AgentExit, AgentHandle, Launcher } from '../launcher.js';
import { loadSshConfig } from './resolve.js';
import { run } from './remote.js';
import type { PruneResult } from '../../runtime/prune.js';
import type { AgentRuntime } from '../../runtime/index.js';
import { RemoteHost } from '../remote/host.js';
import type { Prepared, UploadCounts } from '../remote/host.js';
import { startAttached, startDetached, watchDetached } from './agents.js';
import type { DetachedHost } from './agents.js';
import type { SshPoolOptions } from '../../../contract/pool-options.js';

/** Failures in a row after which a host is set aside. */
const HOST_FAILURES = 3;
/** Agents sharing one SSH connection, below OpenSSH's default MaxSessions (10) with room for probes. */
const AGENTS_PER_CONNECTION = 8;

interface HostState {
  remote: RemoteHost;
  running: number;
  failures: number;
  failure: string | undefined;
  /** Detached agents: they outlive the connection and are watched again over the next one. */
  detached: Map<number, (exit: AgentExit) => void>;
  /** The host as agents.ts sees it. */
  view: DetachedHost;
}

/** What the pool and tests can see of a host. */
export interface SshHostStatus {
  host: string;
  running: number;
  connected: boolean;
  via: 'direct' | 'tunnel' | undefined;
  failure: string | undefined;
  /** The Node its agents run, once connected. */
  runtime: AgentRuntime | undefined;
}


export class SshLauncher implements Launcher {
  readonly kind = 'ssh';
  private readonly hosts: HostState[];
  private readonly counts: UploadCounts = { bundles: 0, runtimes: 0, runtimeBytes: 0 };
  private closed = false;

  constructor(
    private readonly opts: SshPoolOptions,
    /** The controller's TCP agent endpoint: agents dial it directly, or the tunnel pipes to it. */
    controllerAgentUrl: string,
    private readonly log: (line: string) => void,
    private readonly onAgentLog?: (agentId: string, line: string) => void,
  ) {
    const config = loadSshConfig(opts.sshConfig ?? join(homedir(), '.ssh', 'config'));
    // sshd allows few sessions per connection (MaxSessions, 10 by default) and every agent is
    // one: a host gets one connection for each AGENTS_PER_CONNECTION of its agents.
    const perHost = Math.ceil((opts.agentsPerHost ?? 1) / AGENTS_PER_CONNECTION);
    this.hosts = opts.hosts.flatMap((spec) => Array.from({ length: perHost }, () => this.hostState(new RemoteHost(spec, config, opts, controllerAgentUrl, log, this.counts))));
  }

  /** Bundle uploads done, for tests and the benchmark. */
  get uploads(): number {
    return this.counts.bundles;
  }

  /** Runtime uploads done (a host that has the runtime gets none), and their bytes on the wire. */
  get runtimeUploads(): number {
    return this.counts.runtimes;
  }

  get runtimeBytes(): number {
    return this.counts.runtimeBytes;
  }

  private hostState(remote: RemoteHost): HostState {
    const s: HostState = { remote, running: 0, failures: 0, failure: undefined, detached: new Map(), view: undefined as unknown as DetachedHost };
    s.view = {
      spec: remote.spec,
      detached: s.detached,
      connected: () => remote.connected,
      runQuiet: async (cmd) => runQuiet((await remote.prepare()).client, cmd),
      onGone: () => s.running--,
    };
    remote.onConnected = (p) => {
      for (const pid of s.detached.keys()) watchDetached(s.view, p, pid);
    };
    remote.onDisconnected = () => {
      if (s.detached.size > 0 && !this.closed) void this.reattach(s);
    };
    return s;
  }

  status(): SshHostStatus[] {
    return this.hosts.map((s) => ({ host: s.remote.spec, running: s.running, connected: s.remote.connected, via: s.remote.open?.via, failure: s.failure, runtime: s.remote.open?.runtime }));
  }

  /** Starts one agent on the healthy host running the fewest. */
  async launch(credentials: AgentCredentials): Promise<AgentHandle> {
    if (this.closed) throw new FlotillaError('CLOSED', 'the SSH launcher is closed');
    const errors: string[] = [];
    const candidates = this.hosts.filter((s) => !s.failure).sort((a, b) => a.running - b.running);
    for (const host of candidates) {
      host.running++; // counted now, so concurrent launches spread over the hosts
      try {
        const p = await host.remote.prepare();
        const handle = await this.start(host, p, credentials);
        host.failures = 0;
        return handle;
      } catch (err) {
        host.running--;
        const e = FlotillaError.from(err, 'LAUNCH_FAILED');
        errors.push(e.message);
        host.failures++;
        // A refused login or host key does not fix itself; other failures get a few chances.
        if (e.code === 'UNAUTHORIZED' || e.action === 'set-host-aside' || host.failures >= HOST_FAILURES) {
          host.failure = e.message;
          this.log(`ssh host ${host.remote.spec} set aside: ${e.message}`);
        }
      }
    }
    const aside = this.hosts.filter((s) => s.failure);
    const reasons = [...new Set([...errors, ...aside.map((s) => `${s.remote.spec}: ${s.failure}`)])];
    // Every host set aside: trying again cannot help, and the pool should say so at once.
    const giveUp = aside.length === this.hosts.length;
    throw new FlotillaError('LAUNCH_FAILED', `no host could start an agent: ${reasons.join('; ')}`, { action: giveUp ? 'give-up' : undefined });
  }

  /** Starts an agent on a ready host, attached to its channel or detached. */
  private start(host: HostState, p: Prepared, credentials: AgentCredentials): Promise<AgentHandle> {
    if (this.opts.detached) return startDetached(host.view, p, credentials);
    return startAttached(host.remote.spec, p, credentials, this.onAgentLog, () => host.running--);
  }

  /**
   * Re-opens the connection of a host whose detached agents outlived it: the tunnel comes back
   * on the same port (so they dial back in) and each agent is watched again.
   */
  private async reattach(host: HostState): Promise<void> {
    for (let i = 0; !this.closed && host.detached.size > 0 && !host.remote.connected; i++) {
      await sleep(Math.min(500 * 2 ** i, 10_000) * (0.5 + Math.random()));
      try {
        await host.remote.prepare();
      } catch (err) {
        this.log(`ssh ${host.remote.spec}: reconnecting for detached agents failed: ${(err as Error).message}`);
      }
    }
  }

  private find(hostSpec: string, code: 'BAD_INPUT' | 'NOT_FOUND' = 'BAD_INPUT'): HostState {
    const host = this.hosts.find((s) => s.remote.spec === hostSpec);
    if (!host) throw new FlotillaError(code, `no host ${JSON.stringify(hostSpec)} in this pool: ${this.hosts.map((s) => s.remote.spec).join(', ')}`);
    return host;
  }

  /** Starts a relay on one of this launcher's hosts (see RemoteHost.startRelay). */
  startRelay(hostSpec: string, listen: string): Promise<{ url: string; stop(): void }> {
    return this.find(hostSpec).remote.startRelay(listen);
  }

  /** Whether `hostSpec` is one of this launcher's hosts. */
  hasHost(hostSpec: string): boolean {
    return this.hosts.some((s) => s.remote.spec === hostSpec);
  }

  /** The runtimes (sha256) the connected hosts' agents run. */
  runtimesInUse(): string[] {
    return this.hosts.flatMap((s) => (s.remote.open?.runtime.sha256 ? [s.remote.open.runtime.sha256] : []));
  }

  /** Removes from the host's cache what is not in `keep` and not in use there (see RemoteHost.prune). */
  async pruneCache(hostSpec: string, keep: string[]): Promise<PruneResult> {
    return this.find(hostSpec, 'NOT_FOUND').remote.prune(keep);
  }

  async close(): Promise<void> {
    // Detached agents were stopped by the pool (by pid); then the connections go.
    this.closed = true;
    await Promise.allSettled(this.hosts.map((s) => s.remote.close()));
  }
}

/** Runs a command whose result does not matter (best effort, e.g. a kill). */
async function runQuiet(client: SshClient, cmd: string): Promise<void> {
  await run(client, cmd, 10_000).catch(() => undefined);
}
