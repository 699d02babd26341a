/**
 * Agents inside SLURM jobs. Launch requests that arrive together become ONE job array; each
 * element runs one agent whose credentials sit in the 0600 batch script (removed once sbatch has
 * its copy) and reach the agent on stdin. The queue is watched with squeue (and scontrol once a
 * job has left it): a PENDING job is not a lost agent; a job that ends hands its agent's exit,
 * with its state and log tail, to the pool. close() cancels every job of ours.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { FlotillaError } from '../../../contract/errors.js';
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { AgentExit, AgentHandle, Launcher } from '../launcher.js';
import { SshLauncher } from '../ssh/launcher.js';
import { shq } from '../ssh/remote.js';
import type { AgentRuntime } from '../../runtime/index.js';
import type { PruneResult } from '../../runtime/prune.js';
import { LocalShell, SshShell } from './shell.js';
import type { Shell } from './shell.js';
import { batchScript } from './script.js';
import { parseJobEnd, parseQueue, parseSbatchId, RUNNING_STATES } from './status.js';
import type { SlurmPoolOptions, SlurmResources } from './options.js';

/** sbatch errors worth another try: the controller is busy or briefly unreachable. */
const TRANSIENT = /Resource temporarily unavailable|Socket timed out|Unable to contact slurm controller|try again|Connection refused/i;
/** Launch requests this close together share one array. */
const GATHER_MS = 20;

interface Element {
  key: string;
  agentId: string;
  state: string;
  log: string;
  done: (exit: AgentExit) => void;
  /** Called when squeue first shows the job running. */
  running: () => void;
}

/** What `agents` reports per job element. */
export interface SlurmJobStatus {
  job: string;
  state: string;
}


export class SlurmLauncher implements Launcher {
  readonly kind = 'slurm';
  private readonly shell: Shell;
  private readonly ssh: SshLauncher | undefined;
  private readonly resources: SlurmResources;
  private pending: { credentials: AgentCredentials; resolve(h: AgentHandle): void; reject(e: unknown): void }[] = [];
  private gather: NodeJS.Timeout | undefined;
  private readonly elements = new Map<string, Element>();
  private readonly arrays = new Set<string>();
  private poller: NodeJS.Timeout | undefined;
  private agentUrl: Promise<string> | undefined;
  private closed = false;

  constructor(
    private readonly pool: string,
    private readonly opts: SlurmPoolOptions,
    private readonly controllerAgentUrl: string,
    private readonly log: (line: string) => void,
  ) {
    this.resources = resolveResources(opts);
    if (opts.via) {
      this.ssh = new SshLauncher({ ...opts.ssh, launcher: 'ssh', hosts: [opts.via], node: opts.node, setup: opts.setup, runtime: opts.runtime ?? opts.ssh?.runtime }, controllerAgentUrl, log);
      this.shell = new SshShell(this.ssh, opts.via);
    } else {
      this.shell = new LocalShell({ node: opts.node, runtime: opts.runtime });
    }
  }

  /** Runtime uploads to the login node (`via`): one serves every job, as the compute nodes share its home. */
  get runtimeUploads(): number {
    return this.ssh?.runtimeUploads ?? 0;
  }

  hasHost(host: string): boolean {
    return this.opts.via === host;
  }

  runtimesInUse(): string[] {
    return this.ssh?.runtimesInUse() ?? [];
  }

  pruneCache(host: string, keep: string[]): Promise<PruneResult> {
    if (!this.ssh || this.opts.via !== host) return Promise.reject(new FlotillaError('NOT_FOUND', `this SLURM pool does not submit via ${host}`));
    return this.ssh.pruneCache(host, keep);
  }

  status(): SlurmJobStatus[] {
    return [...this.elements.values()].map((e) => ({ job: e.key, state: e.state }));
  }

  launch(credentials: AgentCredentials): Promise<AgentHandle> {
    if (this.closed) return Promise.reject(new FlotillaError('CLOSED', 'the SLURM launcher is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ credentials, resolve, reject });
      this.gather ??= setTimeout(() => {
        this.gather = undefined;
        void this.submit(this.pending.splice(0));
      }, GATHER_MS);
    });
  }

  /** Where agents in jobs dial: the controller itself, or (through `via`) a relay on the login node. */
  private dialUrl(): Promise<string> {
    this.agentUrl ??= (async () => {
      if (!this.ssh || !this.opts.via) return this.controllerAgentUrl;
      const relay = await this.ssh.startRelay(this.opts.via, this.opts.relayListen ?? '0.0.0.0:0');
      const url = new URL(relay.url);
      if (['0.0.0.0', '[::]'].includes(url.hostname)) url.hostname = this.opts.relayAdvertise ?? (await this.shell.run('hostname -f 2>/dev/null || hostname')).stdout.trim();
      return url.toString();
    })();
    this.agentUrl.catch(() => (this.agentUrl = undefined));
    return this.agentUrl;
  }

  private async submit(batch: typeof this.pending): Promise<void> {
    if (batch.length === 0) return;
    try {
      const url = await this.dialUrl();
      const bundle = await this.shell.bundle();
      const node = await this.shell.node();
      const workDir = this.opts.workDir ?? `${await this.shell.home()}/.cache/flotilla/slurm`;
      const name = `flotilla-${this.pool}`;
      const script = batchScript({
        name,
        logPattern: `${workDir}/${name}-%A_%a.log`,
        resources: this.resources,
        setup: this.opts.setup,
        nodeCmd: node.command,
        bundle,
        credentials: batch.map((b) => ({ ...b.credentials, url })),
      });
      const path = `${workDir}/job-${Date.now()}-${randomBytes(4).toString('hex')}.sh`;
      await this.shell.writePrivate(path, script);
      let jobId: string;
      try {
        jobId = await this.sbatch(`sbatch --parsable --array=0-${batch.length - 1} ${shq(path)}`);
      } finally {
        await this.shell.run(`rm -f ${shq(path)}`); // it holds credentials; sbatch keeps its own copy
      }
      this.arrays.add(jobId);
      if (this.closed) {
        // close() ran while sbatch did: it could not cancel what it did not know yet.
        await this.shell.run(`scancel ${jobId}`);
        throw new FlotillaError('CLOSED', 'the SLURM launcher closed');
      }
      this.log(`slurm: submitted array ${jobId} of ${batch.length} agent(s) on ${this.shell.where}`);
      batch.forEach((b, i) => b.resolve(this.track(`${jobId}_${i}`, b.credentials.agentId, `${workDir}/${name}-${jobId}_${i}.log`, node.runtime)));
      this.poll();
    } catch (err) {
      batch.forEach((b) => b.reject(err));
    }
  }

  /** Runs sbatch, retrying transient failures; its stderr is the error otherwise. */
  private async sbatch(cmd: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.shell.run(cmd);
      const id = parseSbatchId(r.stdout);
      if (r.code === 0 && id) return id;
      const why = r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`;
      if (TRANSIENT.test(why) && attempt < 5) {
        await sleep(500 * 2 ** attempt * (0.5 + Math.random()));
        continue;
      }
      // A refusal of these resources will be the same next time: the pool should stop at once.
      throw new FlotillaError('LAUNCH_FAILED', `sbatch on ${this.shell.where} refused the job: ${why}`, { action: TRANSIENT.test(why) ? undefined : 'give-up' });
    }
  }

  private track(key: string, agentId: string, log: string, runtime: AgentRuntime | undefined): AgentHandle {
    let done!: (exit: AgentExit) => void;
    const exited = new Promise<AgentExit>((resolve) => (done = resolve));
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    this.elements.set(key, { key, agentId, state: 'PENDING', log, done, running });
    return {
      agentId,
      host: `slurm job ${key}`,
      pid: undefined,
      exited,
      started,
      runtime,
      stop: async (graceMs = 5000) => {
        const e = this.elements.get(key);
        if (!e) return;
        const r = await this.shell.run(`scancel ${key}`);
        if (r.code === 0) {
          // Cancelled: the next queue check would only confirm it, one scontrol per element.
          this.elements.delete(key);
          e.done({ exitCode: null, signal: 'CANCELLED', stderrTail: '' });
          return;
        }
        await Promise.race([exited, sleep(graceMs)]);
      },
    };
  }

  /** Checks the queue now and every pollSeconds while jobs of ours are in it. */
  private poll(): void {
    if (this.poller || this.closed) return;
    const tick = async () => {
      try {
        await this.check();
      } catch (err) {
        this.log(`slurm: queue check failed: ${(err as Error).message}`);
      }
      this.poller = this.elements.size > 0 && !this.closed ? setTimeout(tick, (this.opts.pollSeconds ?? 2) * 1000) : undefined;
      this.poller?.unref();
    };
    this.poller = setTimeout(tick, 0);
    this.poller.unref();
  }

  private async check(): Promise<void> {
    if (this.elements.size === 0) return;
    const ids = [...new Set([...this.elements.keys()].map((k) => k.split('_')[0]))];
    const r = await this.shell.run(`squeue -h -r -j ${ids.join(',')} -o '%i|%T'`);
    if (r.code !== 0 && !/Invalid job id/i.test(r.stderr)) throw new Error(r.stderr.trim());
    const inQueue = parseQueue(r.stdout);
    for (const e of [...this.elements.values()]) {
      const state = inQueue.get(e.key);
      if (state) {
        e.state = state;
        // Seen at the queue checks already made, so no extra call: as exact as pollSeconds.
        if (RUNNING_STATES.has(state)) e.running();
        continue;
      }
      // Gone from the queue: its final state and log say how it ended.
      const info = await this.shell.run(`scontrol -o show job ${e.key}`);
      const { state: final, exitCode: code } = parseJobEnd(info.stdout);
      const tail = (await this.shell.run(`tail -c 4000 ${shq(e.log)} 2>/dev/null`)).stdout;
      this.elements.delete(e.key);
      if (final !== 'COMPLETED') this.log(`slurm: job ${e.key} (agent ${e.agentId}) ended ${final}`);
      e.done({ exitCode: final === 'COMPLETED' ? code : code || 1, signal: final === 'COMPLETED' ? null : final, stderrTail: tail });
    }
  }

  /** Cancels every job of ours still in the queue. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.gather);
    clearTimeout(this.poller);
    for (const p of this.pending.splice(0)) p.reject(new FlotillaError('CLOSED', 'the SLURM launcher closed'));
    if (this.arrays.size > 0) await this.shell.run(`scancel ${[...this.arrays].join(' ')}`).catch(() => undefined);
    for (const e of this.elements.values()) e.done({ exitCode: null, signal: 'CANCELLED', stderrTail: '' });
    this.elements.clear();
    await this.ssh?.close();
  }
}

/** The profile's resources with the pool's own over them. */
export function resolveResources(opts: SlurmPoolOptions): SlurmResources {
  let base: SlurmResources = {};
  if (opts.profile !== undefined) {
    const p = opts.profiles?.[opts.profile];
    if (!p) throw new FlotillaError('BAD_INPUT', `SLURM profile ${JSON.stringify(opts.profile)} is not in profiles (${Object.keys(opts.profiles ?? {}).join(', ') || 'none given'})`);
    base = p;
  }
  return { ...base, ...opts.resources, extra: [...(base.extra ?? []), ...(opts.resources?.extra ?? [])] };
}
