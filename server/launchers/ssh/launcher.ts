/**
 * Agents on hosts reached over SSH. Per host, once per connection: connect (config, agent,
 * keys, known_hosts, bastions), probe the host and ready its Node (its own, or one provided and
 * uploaded once: server/runtime), make sure the bundle is in the host's cache, and
 * pick how agents reach the controller (directly or through a reverse tunnel). Each agent is an
 * exec channel whose stdin carries its credentials and then stays open as its lifeline, so it
 * ends with the SSH session. A dropped connection is re-opened (with backoff) when agents are
 * started again; a host that keeps failing is set aside and the others go on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Client as SshClient } from 'ssh2';
import { FlotillaError } from '../../../contract/errors.js';
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { AgentExit, AgentHandle, Launcher } from '../launcher.js';
import { agentBundlePath } from '../../bundle.js';
import { forwardThrough, openConnection } from './connect.js';
import { loadSshConfig, resolveHost } from './resolve.js';
import type { ResolvedHost } from './resolve.js';
import { canDial, ensureBundle, run, shq } from './remote.js';
import { hostRuntime } from '../../runtime/index.js';
import { pruneHost } from '../../runtime/prune.js';
import type { PruneResult } from '../../runtime/prune.js';
import type { AgentRuntime } from '../../runtime/index.js';
import { openTunnel } from './tunnel.js';
import type { Tunnel } from './tunnel.js';
import type { SshPoolOptions } from './options.js';

const TAIL_BYTES = 8 * 1024;
/** Connection attempts per launch before a host counts one failure. */
const CONNECT_TRIES = 3;
/** Failures in a row after which a host is set aside. */
const HOST_FAILURES = 3;
/** Agents sharing one SSH connection, below OpenSSH's default MaxSessions (10) with room for probes. */
const AGENTS_PER_CONNECTION = 8;

interface Prepared {
  client: SshClient;
  jumps: SshClient[];
  bundle: string;
  agentUrl: string;
  tunnel: Tunnel | undefined;
  /** The node command with the pool's setup before it, for exec channels. */
  node: string;
  /** The pool's setup and `&&`, or nothing: goes before an `exec`, which must apply to node. */
  setup: string;
  /** The node command alone (a batch script puts the setup elsewhere). */
  nodeBin: string;
  runtime: AgentRuntime;
}

interface HostState {
  h: ResolvedHost;
  ready: Promise<Prepared> | undefined;
  running: number;
  failures: number;
  failure: string | undefined;
  /** The tunnel's remote port, asked for again after a reconnect so detached agents find it. */
  tunnelPort: number | undefined;
  /** Detached agents: they outlive the connection and are watched again over the next one. */
  detached: Map<number, (exit: AgentExit) => void>;
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
  private readonly config: ReturnType<typeof loadSshConfig>;
  /** How each connected host's agents reach the controller. */
  private readonly via = new Map<HostState, 'direct' | 'tunnel'>();
  /** The runtime each connected host's agents run. */
  private readonly runtimes = new Map<HostState, AgentRuntime>();
  private closed = false;
  /** Bundle uploads done, for tests and the benchmark. */
  uploads = 0;
  /** Runtime uploads done (a host that has the runtime gets none), and their bytes on the wire. */
  runtimeUploads = 0;
  runtimeBytes = 0;

  constructor(
    private readonly opts: SshPoolOptions,
    /** The controller's TCP agent endpoint: agents dial it directly, or the tunnel pipes to it. */
    private readonly controllerAgentUrl: string,
    private readonly log: (line: string) => void,
    private readonly onAgentLog?: (agentId: string, line: string) => void,
  ) {
    const config = loadSshConfig(opts.sshConfig ?? join(homedir(), '.ssh', 'config'));
    // sshd allows few sessions per connection (MaxSessions, 10 by default) and every agent is
    // one: a host gets one connection for each AGENTS_PER_CONNECTION of its agents.
    const perHost = Math.ceil((opts.agentsPerHost ?? 1) / AGENTS_PER_CONNECTION);
    this.hosts = opts.hosts.flatMap((spec) =>
      Array.from({ length: perHost }, () => {
        const h = resolveHost(spec, config, { knownHosts: opts.knownHosts });
        if (opts.identityFile) h.identityFiles.unshift(opts.identityFile);
        return { h, ready: undefined, running: 0, failures: 0, failure: undefined, tunnelPort: undefined, detached: new Map() };
      }),
    );
    this.config = config;
  }

  status(): SshHostStatus[] {
    return this.hosts.map((s) => ({ host: s.h.spec, running: s.running, connected: s.ready !== undefined, via: this.via.get(s), failure: s.failure, runtime: this.runtimes.get(s) }));
  }

  /** Starts one agent on the healthy host running the fewest. */
  async launch(credentials: AgentCredentials): Promise<AgentHandle> {
    if (this.closed) throw new FlotillaError('CLOSED', 'the SSH launcher is closed');
    const errors: string[] = [];
    const candidates = this.hosts.filter((s) => !s.failure).sort((a, b) => a.running - b.running);
    for (const host of candidates) {
      host.running++; // counted now, so concurrent launches spread over the hosts
      try {
        const p = await this.prepare(host);
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
          this.log(`ssh host ${host.h.spec} set aside: ${e.message}`);
        }
      }
    }
    const aside = this.hosts.filter((s) => s.failure);
    const reasons = [...new Set([...errors, ...aside.map((s) => `${s.h.spec}: ${s.failure}`)])];
    // Every host set aside: trying again cannot help, and the pool should say so at once.
    const giveUp = aside.length === this.hosts.length;
    throw new FlotillaError('LAUNCH_FAILED', `no host could start an agent: ${reasons.join('; ')}`, { action: giveUp ? 'give-up' : undefined });
  }

  /** The connection and set-up of a host, made once and shared until the connection drops. */
  private prepare(host: HostState): Promise<Prepared> {
    if (!host.ready) {
      host.ready = this.connect(host);
      host.ready.catch(() => (host.ready = undefined));
    }
    return host.ready;
  }

  private async connect(host: HostState): Promise<Prepared> {
    let lastErr: unknown;
    for (let i = 0; i < CONNECT_TRIES; i++) {
      if (i > 0) await sleep(200 * 2 ** i * (0.5 + Math.random()));
      try {
        return await this.connectOnce(host);
      } catch (err) {
        lastErr = err;
        if ((err as FlotillaError).code !== 'LAUNCH_FAILED') break; // refused: retrying will not help
      }
    }
    throw lastErr;
  }

  /** Opens a connection to the host, through its bastions. */
  private async dial(h: ResolvedHost): Promise<{ client: SshClient; jumps: SshClient[] }> {
    const jumps: SshClient[] = [];
    try {
      // Each bastion is reached through the one before it; the host through the last.
      const chain = [...h.proxyJump.map((spec) => resolveHost(spec, this.config, { knownHosts: this.opts.knownHosts })), h];
      let sock;
      for (let i = 0; i < chain.length - 1; i++) {
        const j = await openConnection(chain[i]!, this.opts, sock);
        jumps.push(j);
        sock = await forwardThrough(j, chain[i + 1]!);
      }
      return { client: await openConnection(h, this.opts, sock), jumps };
    } catch (err) {
      jumps.forEach((j) => j.end());
      throw err;
    }
  }

  private async connectOnce(host: HostState): Promise<Prepared> {
    const h = host.h;
    const { client, jumps } = await this.dial(h);
    try {
      const rt = await hostRuntime(client, h.spec, this.opts);
      if (rt.uploaded) {
        this.runtimeUploads++;
        this.runtimeBytes += rt.sentBytes;
        this.log(`ssh ${h.spec}: runtime ${rt.runtime.version} (${rt.runtime.origin}) uploaded, ${rt.sentBytes} bytes`);
      }
      const setup = this.opts.setup ? `${this.opts.setup} && ` : '';
      const node = `${setup}${rt.command}`;
      const { path, uploaded } = await ensureBundle(client, agentBundlePath());
      if (uploaded) this.uploads++;
      const target = new URL(this.controllerAgentUrl);
      const port = Number(target.port);
      const wildcard = ['0.0.0.0', '[::]', '::'].includes(target.hostname);
      const mode = this.opts.tunnel ?? 'auto';
      const direct = mode === 'never' || (mode === 'auto' && !wildcard && (await canDial(client, node, target.hostname.replace(/^\[|\]$/g, ''), port)));
      let tunnel: Tunnel | undefined;
      let agentUrl = this.controllerAgentUrl;
      if (!direct) {
        tunnel = await openTunnel(client, { host: wildcard ? '127.0.0.1' : target.hostname.replace(/^\[|\]$/g, ''), port }, host.tunnelPort);
        host.tunnelPort = tunnel.remotePort;
        agentUrl = `ws://127.0.0.1:${tunnel.remotePort}${target.pathname}`;
      }
      this.via.set(host, direct ? 'direct' : 'tunnel');
      this.runtimes.set(host, rt.runtime);
      const prepared: Prepared = { client, jumps, bundle: path, agentUrl, tunnel, node, setup, nodeBin: rt.command, runtime: rt.runtime };
      client.on('error', (err) => this.log(`ssh ${h.spec}: ${err.message}`));
      client.setMaxListeners(0); // one 'close' listener per agent on this connection
      client.once('close', () => {
        if (host.ready) this.log(`ssh connection to ${h.spec} closed`);
        host.ready = undefined;
        this.via.delete(host);
        this.runtimes.delete(host);
        jumps.forEach((j) => j.end());
        if (host.detached.size > 0 && !this.closed) void this.reattach(host);
      });
      for (const pid of host.detached.keys()) this.watchDetached(host, prepared, pid);
      return prepared;
    } catch (err) {
      client.end();
      jumps.forEach((j) => j.end());
      throw err;
    }
  }

  /**
   * Re-opens the connection of a host whose detached agents outlived it: the tunnel comes back
   * on the same port (so they dial back in) and each agent is watched again.
   */
  private async reattach(host: HostState): Promise<void> {
    for (let i = 0; !this.closed && host.detached.size > 0 && !host.ready; i++) {
      await sleep(Math.min(500 * 2 ** i, 10_000) * (0.5 + Math.random()));
      try {
        await this.prepare(host);
      } catch (err) {
        this.log(`ssh ${host.h.spec}: reconnecting for detached agents failed: ${(err as Error).message}`);
      }
    }
  }

  /** Settles a detached agent's exit when its process is gone (seen over the current connection). */
  private watchDetached(host: HostState, p: Prepared, pid: number): void {
    p.client.exec(`while kill -0 ${pid} 2>/dev/null; do sleep 1; done`, (err, ch) => {
      if (err) return;
      ch.on('data', () => {});
      ch.on('close', () => {
        if (host.ready === undefined) return; // the connection went: the next one watches again
        const done = host.detached.get(pid);
        host.detached.delete(pid);
        done?.({ exitCode: null, signal: null, stderrTail: '' });
      });
    });
  }

  /** Starts the agent on an exec channel; its credentials go in on stdin, which stays open. */
  private start(host: HostState, p: Prepared, credentials: AgentCredentials): Promise<AgentHandle> {
    if (this.opts.detached) return this.startDetached(host, p, credentials);
    return new Promise((resolve, reject) => {
      p.client.exec(`${p.setup}exec ${p.nodeBin} "$HOME/${p.bundle}"`, (err, ch) => {
        if (err) return reject(new FlotillaError('LAUNCH_FAILED', `${host.h.spec}: cannot start the agent: ${err.message}`, { cause: err }));
        let tail = '';
        let exitCode: number | null = null;
        let signal: string | null = null;
        let partial = '';
        ch.stderr.on('data', (d: Buffer) => {
          const text = d.toString();
          tail = (tail + text).slice(-TAIL_BYTES);
          if (!this.onAgentLog) return;
          const lines = (partial + text).split('\n');
          partial = lines.pop()!;
          for (const line of lines) if (line) this.onAgentLog(credentials.agentId, line);
        });
        ch.on('data', () => {}); // stdout is not used; keep the window open
        ch.on('exit', (code: number | null, sig?: string) => {
          exitCode = code;
          signal = sig ? `SIG${sig}` : null;
        });
        ch.on('error', () => {});
        let connectionLost = false;
        const onClientClose = () => (connectionLost = true);
        p.client.once('close', onClientClose);
        const exited = new Promise<AgentExit>((res) =>
          ch.once('close', () => {
            p.client.off('close', onClientClose);
            host.running--;
            res({ exitCode, signal, stderrTail: tail, lostConnection: connectionLost || (exitCode === null && signal === null) });
          }),
        );
        ch.write(JSON.stringify({ ...credentials, url: p.agentUrl }) + '\n');
        const stop = async (graceMs = 2000) => {
          ch.end(); // stdin EOF: the agent's lifeline is cut and it exits
          const t = setTimeout(() => {
            ch.signal('KILL');
            ch.close();
          }, graceMs);
          await exited;
          clearTimeout(t);
        };
        resolve({ agentId: credentials.agentId, host: host.h.spec, pid: undefined, exited, stop, runtime: p.runtime });
      });
    });
  }

  /**
   * Starts an agent that outlives the SSH session: credentials on stdin as usual, then the agent
   * ignores its end; its output goes to a log beside the bundle. It is watched by pid over this
   * connection and the next ones; stop() kills it by pid.
   */
  private startDetached(host: HostState, p: Prepared, credentials: AgentCredentials): Promise<AgentHandle> {
    const log = `${p.bundle.slice(0, p.bundle.lastIndexOf('/'))}/${credentials.agentId}.log`;
    return new Promise((resolve, reject) => {
      p.client.exec(`echo $$; ${p.setup}exec nohup ${p.nodeBin} "$HOME/${p.bundle}" --detached >>"$HOME/${log}" 2>&1`, (err, ch) => {
        if (err) return reject(new FlotillaError('LAUNCH_FAILED', `${host.h.spec}: cannot start the agent: ${err.message}`, { cause: err }));
        let out = '';
        ch.on('error', () => {});
        ch.stderr.on('data', () => {});
        ch.on('data', (d: Buffer) => {
          out += d;
          const m = /^(\d+)\n/.exec(out);
          if (!m || host.detached.has(Number(m[1]))) return;
          const pid = Number(m[1]);
          const exited = new Promise<AgentExit>((res) =>
            host.detached.set(pid, (exit) => {
              host.running--;
              res(exit);
            }),
          );
          // Over this connection, the channel closing is the process ending.
          ch.on('exit', (code: number | null) => {
            const done = host.detached.get(pid);
            if (!done || host.ready === undefined) return;
            host.detached.delete(pid);
            done({ exitCode: code, signal: null, stderrTail: '' });
          });
          const stop = async (graceMs = 2000) => {
            if (!host.detached.has(pid)) return;
            const q = await this.prepare(host);
            await runQuiet(q.client, `kill -TERM ${pid} 2>/dev/null`);
            const t = setTimeout(() => void this.prepare(host).then((c) => runQuiet(c.client, `kill -KILL ${pid} 2>/dev/null`)), graceMs);
            t.unref();
            await exited;
            clearTimeout(t);
          };
          resolve({ agentId: credentials.agentId, host: host.h.spec, pid, exited, stop, runtime: p.runtime });
        });
        ch.write(JSON.stringify({ ...credentials, url: p.agentUrl }) + '\n');
        ch.end();
      });
    });
  }

  /**
   * The prepared connection to one of this launcher's hosts: for launchers that work through a
   * host (SLURM's login node) rather than start agents on it.
   */
  async connection(hostSpec: string): Promise<{ client: SshClient; bundle: string; node: string; nodeBin: string; runtime: AgentRuntime; agentUrl: string }> {
    const host = this.hosts.find((s) => s.h.spec === hostSpec);
    if (!host) throw new FlotillaError('BAD_INPUT', `no host ${JSON.stringify(hostSpec)} in this pool`);
    const { client, bundle, node, nodeBin, runtime, agentUrl } = await this.prepare(host);
    return { client, bundle, node, nodeBin, runtime, agentUrl };
  }

  /**
   * Starts a relay on `hostSpec` (a login node) listening on `listen` (`ADDR:PORT`, an address
   * compute nodes can reach; port 0 picks one), forwarding to wherever this host's agents dial:
   * the controller directly or the reverse tunnel. Compute-node agents given the returned URL
   * reach the controller through it. The relay ends with its SSH session, or with `stop()`.
   */
  async startRelay(hostSpec: string, listen: string): Promise<{ url: string; stop(): void }> {
    const host = this.hosts.find((s) => s.h.spec === hostSpec);
    if (!host) throw new FlotillaError('BAD_INPUT', `no host ${JSON.stringify(hostSpec)} in this pool: ${this.hosts.map((s) => s.h.spec).join(', ')}`);
    const p = await this.prepare(host);
    const to = new URL(p.agentUrl);
    return new Promise((resolve, reject) => {
      p.client.exec(`${p.setup}exec ${p.nodeBin} "$HOME/${p.bundle}" --relay ${shq(listen)} --to ${shq(`${to.hostname}:${to.port}`)}`, (err, ch) => {
        if (err) return reject(new FlotillaError('LAUNCH_FAILED', `${hostSpec}: cannot start the relay: ${err.message}`, { cause: err }));
        let out = '', errText = '';
        ch.stderr.on('data', (d: Buffer) => (errText += d));
        ch.on('data', (d: Buffer) => {
          out += d;
          const m = /relay listening on (.+):(\d+)\n/.exec(out);
          if (m) resolve({ url: `ws://${m[1]!.includes(':') ? `[${m[1]}]` : m[1]}:${m[2]}${to.pathname}`, stop: () => ch.end() });
        });
        ch.on('close', () => reject(new FlotillaError('LAUNCH_FAILED', `${hostSpec}: the relay exited: ${errText.trim() || 'no message'}`)));
      });
    });
  }

  /** Whether `hostSpec` is one of this launcher's hosts. */
  hasHost(hostSpec: string): boolean {
    return this.hosts.some((s) => s.h.spec === hostSpec);
  }

  /** The runtimes (sha256) the connected hosts' agents run. */
  runtimesInUse(): string[] {
    return [...this.runtimes.values()].flatMap((r) => (r.sha256 ? [r.sha256] : []));
  }

  /**
   * Removes from the host's cache the bundles and runtimes not in `keep` and not used by a
   * process there, over the open connection or a short one of its own (nothing is uploaded).
   */
  async pruneCache(hostSpec: string, keep: string[]): Promise<PruneResult> {
    const host = this.hosts.find((s) => s.h.spec === hostSpec);
    if (!host) throw new FlotillaError('NOT_FOUND', `no host ${JSON.stringify(hostSpec)} in this pool`);
    const open = await host.ready?.catch(() => undefined);
    if (open) return pruneHost(open.client, hostSpec, keep);
    const { client, jumps } = await this.dial(host.h);
    try {
      return await pruneHost(client, hostSpec, keep);
    } finally {
      client.end();
      jumps.forEach((j) => j.end());
    }
  }

  async close(): Promise<void> {
    // Detached agents were stopped by the pool (by pid); then the connections go.
    this.closed = true;
    await Promise.allSettled(
      this.hosts.map(async (s) => {
        const p = await s.ready?.catch(() => undefined);
        s.ready = undefined;
        p?.tunnel?.close();
        p?.client.end();
        p?.jumps.forEach((j) => j.end());
      }),
    );
  }
}

/** Runs a command whose result does not matter (best effort, e.g. a kill). */
async function runQuiet(client: SshClient, cmd: string): Promise<void> {
  await run(client, cmd, 10_000).catch(() => undefined);
}
