/**
 * One host reached over SSH, made ready once per connection: connect (config, agent, keys,
 * known_hosts, bastions), probe the host and ready its Node (its own, or one provided and
 * uploaded once: server/runtime), make sure the agent bundle is in the host's cache, and pick
 * how agents there reach the controller (directly or through a reverse tunnel). The SSH launcher
 * starts agents over it; a batch launcher submits jobs and runs its relay over it (`via`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client as SshClient } from 'ssh2';
import { FlotillaError } from '../../../contract/errors.js';
import { agentBundlePath } from '../../bundle.js';
import { hostRuntime } from '../../runtime/index.js';
import type { AgentRuntime } from '../../runtime/index.js';
import { pruneHost } from '../../runtime/prune.js';
import type { PruneResult } from '../../runtime/prune.js';
import { forwardThrough, openConnection } from '../ssh/connect.js';
import { resolveHost } from '../ssh/resolve.js';
import type { ResolvedHost, loadSshConfig } from '../ssh/resolve.js';
import { canDial, ensureBundle, shq } from '../ssh/remote.js';
import { openTunnel } from '../ssh/tunnel.js';
import type { Tunnel } from '../ssh/tunnel.js';
import type { SshPoolOptions } from '../../../contract/pool-options.js';

/** Connection attempts before a preparation fails. */
const CONNECT_TRIES = 3;

/** How to reach hosts and run agents there: the SSH part of SSH and batch pools' options. */
export type RemoteOptions = Pick<SshPoolOptions, 'tunnel' | 'node' | 'setup' | 'runtime' | 'identityFile' | 'sshConfig' | 'knownHosts' | 'acceptNewHostKeys' | 'passphrase'>;

/** A connected, ready host. */
export interface Prepared {
  client: SshClient;
  jumps: SshClient[];
  /** The bundle's path, relative to the home folder. */
  bundle: string;
  /** Where agents there dial: the controller, or the reverse tunnel's end. */
  agentUrl: string;
  tunnel: Tunnel | undefined;
  via: 'direct' | 'tunnel';
  /** The node command with the pool's setup before it, for exec channels. */
  node: string;
  /** The pool's setup and `&&`, or nothing: goes before an `exec`, which must apply to node. */
  setup: string;
  /** The node command alone (a batch script puts the setup elsewhere). */
  nodeBin: string;
  runtime: AgentRuntime;
}

/** Uploads done, shared by the hosts of one launcher (for tests and benchmarks). */
export interface UploadCounts {
  bundles: number;
  runtimes: number;
  runtimeBytes: number;
}

export class RemoteHost {
  readonly h: ResolvedHost;
  private ready: Promise<Prepared> | undefined;
  private current: Prepared | undefined;
  /** The tunnel's remote port, asked for again after a reconnect so detached agents find it. */
  private tunnelPort: number | undefined;
  /** Called with each new connection once it is ready. */
  onConnected: ((p: Prepared) => void) | undefined;
  /** Called when a connection drops. */
  onDisconnected: (() => void) | undefined;

  constructor(
    readonly spec: string,
    private readonly config: ReturnType<typeof loadSshConfig>,
    private readonly opts: RemoteOptions,
    /** The controller's TCP agent endpoint: agents dial it directly, or the tunnel pipes to it. */
    private readonly controllerAgentUrl: string,
    private readonly log: (line: string) => void,
    private readonly counts: UploadCounts = { bundles: 0, runtimes: 0, runtimeBytes: 0 },
  ) {
    this.h = resolveHost(spec, config, { knownHosts: opts.knownHosts });
    if (opts.identityFile) this.h.identityFiles.unshift(opts.identityFile);
  }

  /** Whether a connection is open or being opened. */
  get connected(): boolean {
    return this.ready !== undefined;
  }

  /** The ready connection, if one is open now. */
  get open(): Prepared | undefined {
    return this.ready ? this.current : undefined;
  }

  /** The connection and set-up of the host, made once and shared until the connection drops. */
  prepare(): Promise<Prepared> {
    if (!this.ready) {
      this.ready = this.connect();
      this.ready.catch(() => (this.ready = undefined));
    }
    return this.ready;
  }

  private async connect(): Promise<Prepared> {
    let lastErr: unknown;
    for (let i = 0; i < CONNECT_TRIES; i++) {
      if (i > 0) await sleep(200 * 2 ** i * (0.5 + Math.random()));
      try {
        return await this.connectOnce();
      } catch (err) {
        lastErr = err;
        if ((err as FlotillaError).code !== 'LAUNCH_FAILED') break; // refused: retrying will not help
      }
    }
    throw lastErr;
  }

  /** Opens a connection to the host, through its bastions. */
  async dial(): Promise<{ client: SshClient; jumps: SshClient[] }> {
    const h = this.h;
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

  private async connectOnce(): Promise<Prepared> {
    const h = this.h;
    const { client, jumps } = await this.dial();
    try {
      // The bundle's check (or upload) on a channel of its own, beside the runtime's probe and upload.
      const [rt, { path, uploaded }] = await Promise.all([hostRuntime(client, h.spec, this.opts), ensureBundle(client, agentBundlePath())]);
      if (rt.uploaded) {
        this.counts.runtimes++;
        this.counts.runtimeBytes += rt.sentBytes;
        this.log(`ssh ${h.spec}: runtime ${rt.runtime.version} (${rt.runtime.origin}) uploaded, ${rt.sentBytes} bytes`);
      }
      const setup = this.opts.setup ? `${this.opts.setup} && ` : '';
      if (uploaded) this.counts.bundles++;
      const target = new URL(this.controllerAgentUrl);
      const port = Number(target.port);
      const wildcard = ['0.0.0.0', '[::]', '::'].includes(target.hostname);
      const mode = this.opts.tunnel ?? 'auto';
      const node = `${setup}${rt.command}`;
      const direct = mode === 'never' || (mode === 'auto' && !wildcard && (await canDial(client, node, target.hostname.replace(/^\[|\]$/g, ''), port)));
      let tunnel: Tunnel | undefined;
      let agentUrl = this.controllerAgentUrl;
      if (!direct) {
        tunnel = await openTunnel(client, { host: wildcard ? '127.0.0.1' : target.hostname.replace(/^\[|\]$/g, ''), port }, this.tunnelPort);
        this.tunnelPort = tunnel.remotePort;
        agentUrl = `ws://127.0.0.1:${tunnel.remotePort}${target.pathname}`;
      }
      const prepared: Prepared = { client, jumps, bundle: path, agentUrl, tunnel, via: direct ? 'direct' : 'tunnel', node, setup, nodeBin: rt.command, runtime: rt.runtime };
      client.on('error', (err) => this.log(`ssh ${h.spec}: ${err.message}`));
      client.setMaxListeners(0); // one 'close' listener per agent on this connection
      client.once('close', () => {
        if (this.ready) this.log(`ssh connection to ${h.spec} closed`);
        this.ready = undefined;
        this.current = undefined;
        jumps.forEach((j) => j.end());
        this.onDisconnected?.();
      });
      this.current = prepared;
      this.onConnected?.(prepared);
      return prepared;
    } catch (err) {
      client.end();
      jumps.forEach((j) => j.end());
      throw err;
    }
  }

  /**
   * Starts a relay here listening on `listen` (`ADDR:PORT`, an address compute nodes can reach;
   * port 0 picks one), forwarding to wherever this host's agents dial: the controller directly
   * or the reverse tunnel. Agents given the returned URL reach the controller through it. The
   * relay ends with its SSH session, or with `stop()`.
   */
  async startRelay(listen: string): Promise<{ url: string; stop(): void }> {
    const p = await this.prepare();
    const to = new URL(p.agentUrl);
    return new Promise((resolve, reject) => {
      p.client.exec(`${p.setup}exec ${p.nodeBin} "$HOME/${p.bundle}" --relay ${shq(listen)} --to ${shq(`${to.hostname}:${to.port}`)}`, (err, ch) => {
        if (err) return reject(new FlotillaError('LAUNCH_FAILED', `${this.spec}: cannot start the relay: ${err.message}`, { cause: err }));
        let out = '', errText = '';
        ch.stderr.on('data', (d: Buffer) => (errText += d));
        ch.on('data', (d: Buffer) => {
          out += d;
          const m = /relay listening on (.+):(\d+)\n/.exec(out);
          if (m) resolve({ url: `ws://${m[1]!.includes(':') ? `[${m[1]}]` : m[1]}:${m[2]}${to.pathname}`, stop: () => ch.end() });
        });
        ch.on('close', () => reject(new FlotillaError('LAUNCH_FAILED', `${this.spec}: the relay exited: ${errText.trim() || 'no message'}`)));
      });
    });
  }

  /**
   * Removes from the host's cache the bundles and runtimes not in `keep` and not used by a
   * process there, over the open connection or a short one of its own (nothing is uploaded).
   */
  async prune(keep: string[]): Promise<PruneResult> {
    const open = await this.ready?.catch(() => undefined);
    if (open) return pruneHost(open.client, this.spec, keep);
    const { client, jumps } = await this.dial();
    try {
      return await pruneHost(client, this.spec, keep);
    } finally {
      client.end();
      jumps.forEach((j) => j.end());
    }
  }

  /** Ends the connection (and its tunnel and bastions). */
  async close(): Promise<void> {
    const p = await this.ready?.catch(() => undefined);
    this.ready = undefined;
    p?.tunnel?.close();
    p?.client.end();
    p?.jumps.forEach((j) => j.end());
  }
}
