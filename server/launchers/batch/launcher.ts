/**
 * Agents inside batch jobs, for any batch system behind a {@link BatchSystem} adapter. Launch
 * requests that arrive together become ONE job array (submissions are spaced, so a burst makes
 * few arrays); each element runs one agent whose credentials sit in the 0600 script (removed
 * once the system has its copy) and reach the agent on stdin. The queue is watched every
 * `pollSeconds`: a queued job is not a lost agent; a job that ends hands its agent's exit, with
 * its state and log tail, to the pool, which re-queues the tasks it held. close() cancels every
 * job of ours.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { FlotillaError } from '../../../contract/errors.js';
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { AgentExit, AgentHandle, Launcher } from '../launcher.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RemoteHost } from '../remote/host.js';
import type { UploadCounts } from '../remote/host.js';
import { loadSshConfig } from '../ssh/resolve.js';
import { shq } from '../ssh/remote.js';
import type { AgentRuntime } from '../../runtime/index.js';
import type { PruneResult } from '../../runtime/prune.js';
import { LocalShell, SshShell } from '../shell.js';
import type { Shell } from '../shell.js';
import { arrayScript } from './script.js';
import type { BatchPoolOptions } from '../../../contract/batch-pool-options.js';
import type { BatchSystem, EndedElement } from './system.js';

/** Launch requests this close together share one array. */
const GATHER_MS = 20;
/** Submissions at least this far apart; requests meanwhile join the next array. */
const SUBMIT_SPACING_MS = 250;
/** Submit attempts on transient errors, with growing pauses between them. */
const SUBMIT_TRIES = 5;
/** Queue checks after an element left the queue before its end is taken as unknown. */
const END_CHECKS = 5;
const TAIL_BYTES = 4000;
/**
 * How long close() waits for submissions under way: a job is cancelled by its id, which only
 * the submission's answer gives. One still under way after this cancels its job when it ends.
 */
const CLOSE_WAIT_MS = 30_000;

interface Element {
  key: string;
  agentId: string;
  state: string;
  log: string;
  /** Queue checks since it left the queue without the system telling how it ended. */
  endChecks: number;
  done: (exit: AgentExit) => void;
  /** Called when the job is first seen running. */
  running: () => void;
}

/** What `agents` reports per job element. */
export interface BatchJobStatus {
  job: string;
  state: string;
}

interface Request {
  credentials: AgentCredentials;
  resolve(h: AgentHandle): void;
  reject(e: unknown): void;
}

export class BatchLauncher<R> implements Launcher {
  readonly kind: string;
  private readonly shell: Shell;
  /** The login node (`via`), where jobs are submitted and the relay runs. */
  private readonly remote: RemoteHost | undefined;
  private readonly counts: UploadCounts = { bundles: 0, runtimes: 0, runtimeBytes: 0 };
  private pending: Request[] = [];
  private gather: NodeJS.Timeout | undefined;
  private lastSubmit = 0;
  private readonly elements = new Map<string, Element>();
  private readonly arrays = new Set<string>();
  /** Submissions under way (their job ids not known yet): close() waits for them. */
  private readonly submitting = new Set<Promise<void>>();
  private poller: NodeJS.Timeout | undefined;
  private agentUrl: Promise<string> | undefined;
  private closed = false;

  constructor(
    private readonly pool: string,
    private readonly opts: BatchPoolOptions,
    private readonly system: BatchSystem<R>,
    private readonly resources: R,
    private readonly controllerAgentUrl: string,
    private readonly log: (line: string) => void,
  ) {
    this.kind = system.kind;
    if (opts.via) {
      const ssh = { ...opts.ssh, node: opts.node, setup: opts.setup, runtime: opts.runtime ?? opts.ssh?.runtime };
      const config = loadSshConfig(ssh.sshConfig ?? join(homedir(), '.ssh', 'config'));
      this.remote = new RemoteHost(opts.via, config, ssh, controllerAgentUrl, log, this.counts);
      this.shell = new SshShell(this.remote);
    } else {
      this.shell = new LocalShell({ node: opts.node, runtime: opts.runtime });
    }
  }

  /** Runtime uploads to the login node (`via`): one serves every job, as the compute nodes share its home. */
  get runtimeUploads(): number {
    return this.counts.runtimes;
  }

  hasHost(host: string): boolean {
    return this.opts.via === host;
  }

  runtimesInUse(): string[] {
    const sha = this.remote?.open?.runtime.sha256;
    return sha ? [sha] : [];
  }

  pruneCache(host: string, keep: string[]): Promise<PruneResult> {
    if (!this.remote || this.opts.via !== host) return Promise.reject(new FlotillaError('NOT_FOUND', `this ${this.system.title} pool does not submit via ${host}`));
    return this.remote.prune(keep);
  }

  status(): BatchJobStatus[] {
    return [...this.elements.values()].map((e) => ({ job: e.key, state: e.state }));
  }

  launch(credentials: AgentCredentials): Promise<AgentHandle> {
    if (this.closed) return Promise.reject(new FlotillaError('CLOSED', `the ${this.system.title} launcher is closed`));
    return new Promise((resolve, reject) => {
      this.pending.push({ credentials, resolve, reject });
      if (this.gather) return;
      // Gathered for a moment, and spaced from the last submission: a burst of launches makes one array.
      const wait = Math.max(GATHER_MS, this.lastSubmit + SUBMIT_SPACING_MS - Date.now());
      this.gather = setTimeout(() => {
        this.gather = undefined;
        this.lastSubmit = Date.now();
        const s = this.submit(this.pending.splice(0));
        this.submitting.add(s);
        void s.finally(() => this.submitting.delete(s));
      }, wait);
    });
  }

  /** Where agents in jobs dial: the controller itself, or (through `via`) a relay on the login node. */
  private dialUrl(): Promise<string> {
    this.agentUrl ??= (async () => {
      if (!this.remote) return this.controllerAgentUrl;
      const relay = await this.remote.startRelay(this.opts.relayListen ?? '0.0.0.0:0');
      const url = new URL(relay.url);
      if (['0.0.0.0', '[::]'].includes(url.hostname)) url.hostname = this.opts.relayAdvertise ?? (await this.shell.run('hostname -f 2>/dev/null || hostname')).stdout.trim();
      return url.toString();
    })();
    this.agentUrl.catch(() => (this.agentUrl = undefined));
    return this.agentUrl;
  }

  private async submit(batch: Request[]): Promise<void> {
    if (batch.length === 0) return;
    const sys = this.system;
    try {
      const url = await this.dialUrl();
      const bundle = await this.shell.bundle();
      const node = await this.shell.node();
      const workDir = this.opts.workDir ?? `${await this.shell.home()}/.cache/flotilla/${sys.kind}`;
      const name = `flotilla-${this.pool}`;
      const script = arrayScript({
        header: sys.header({ name, workDir, resources: this.resources }),
        element: sys.element,
        setup: this.opts.setup,
        nodeCmd: node.command,
        bundle,
        credentials: batch.map((b) => ({ ...b.credentials, url })),
      });
      const path = `${workDir}/job-${Date.now()}-${randomBytes(4).toString('hex')}.sh`;
      await this.shell.writePrivate(path, script);
      let jobId: string;
      try {
        jobId = await this.submitScript(path, batch.length);
      } finally {
        await this.shell.run(`rm -f ${shq(path)}`); // it holds credentials; the system keeps its own copy
      }
      if (this.closed) {
        // close() ran while the submission did: it could not cancel what it did not know yet,
        // so it waits for this submission, which cancels its job itself.
        const r = await this.shell.run(sys.cancelCommand([jobId]));
        this.log(`${sys.kind}: cancelled array ${jobId}, submitted while the launcher closed${r.code === 0 ? '' : `; ${sys.cancelCommand([jobId])} said: ${r.stderr.trim()}`}`);
        throw new FlotillaError('CLOSED', `the ${sys.title} launcher closed`);
      }
      this.arrays.add(jobId);
      this.log(`${sys.kind}: submitted array ${jobId} of ${batch.length} agent(s) on ${this.shell.where}`);
      batch.forEach((b, i) => b.resolve(this.track(sys.elementKey(jobId, i), b.credentials.agentId, sys.logPath(workDir, name, jobId, i), node.runtime)));
      this.poll();
    } catch (err) {
      batch.forEach((b) => b.reject(err));
    }
  }

  /** Submits, retrying transient failures; the system's own message is the error otherwise. */
  private async submitScript(path: string, n: number): Promise<string> {
    const sys = this.system;
    for (let attempt = 1; ; attempt++) {
      // Closed meanwhile (the script's preparation, a pause between tries): submit nothing.
      if (this.closed) throw new FlotillaError('CLOSED', `the ${sys.title} launcher closed`);
      const r = await this.shell.run(sys.submitCommand(shq(path), n));
      const id = sys.parseJobId(r.stdout);
      if (r.code === 0 && id) return id;
      const why = r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`;
      if (sys.transient.test(why) && attempt < SUBMIT_TRIES) {
        await sleep(500 * 2 ** attempt * (0.5 + Math.random()));
        continue;
      }
      // A refusal of these resources will be the same next time: the pool should stop at once.
      throw new FlotillaError('LAUNCH_FAILED', `${sys.submitter} on ${this.shell.where} refused the job: ${why}`, { action: sys.transient.test(why) ? undefined : 'give-up' });
    }
  }

  private track(key: string, agentId: string, log: string, runtime: AgentRuntime | undefined): AgentHandle {
    let done!: (exit: AgentExit) => void;
    const exited = new Promise<AgentExit>((resolve) => (done = resolve));
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    this.elements.set(key, { key, agentId, state: 'PENDING', log, endChecks: 0, done, running });
    return {
      agentId,
      host: `${this.system.kind} job ${key}`,
      pid: undefined,
      batchJob: key,
      exited,
      started,
      runtime,
      stop: async (graceMs = 5000) => {
        const e = this.elements.get(key);
        if (!e) return;
        const r = await this.shell.run(this.system.cancelCommand([key]));
        if (r.code === 0) {
          // Cancelled: the next queue check would only confirm it, one query per element.
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
        // A busy or briefly unreachable system: the next check tries again.
        this.log(`${this.system.kind}: queue check failed: ${(err as Error).message}`);
      }
      this.poller = this.elements.size > 0 && !this.closed ? setTimeout(tick, (this.opts.pollSeconds ?? 2) * 1000) : undefined;
      this.poller?.unref();
    };
    this.poller = setTimeout(tick, 0);
    this.poller.unref();
  }

  private async check(): Promise<void> {
    if (this.elements.size === 0) return;
    const run = (cmd: string) => this.shell.run(cmd);
    const inQueue = await this.system.queue(run, [...this.elements.keys()]);
    for (const e of [...this.elements.values()]) {
      const q = inQueue.get(e.key);
      if (q?.phase === 'failed') {
        // In the queue, but it can never run: cancel it and say why.
        this.elements.delete(e.key);
        await run(this.system.cancelCommand([e.key]));
        this.log(`${this.system.kind}: job ${e.key} (agent ${e.agentId}) is in state ${q.state} and cannot run; cancelled`);
        e.done({ exitCode: 1, signal: q.state, stderrTail: (await this.logTail(e.log)) || `${this.system.title} put the job in state ${q.state}` });
        continue;
      }
      if (q) {
        e.state = q.state;
        // Seen at the queue checks already made, so no extra call: as exact as pollSeconds.
        if (q.phase === 'running') e.running();
        continue;
      }
      // Gone from the queue: the system's records and the log say how it ended.
      let end: EndedElement | undefined = await this.system.ended(run, e.key);
      if (!end && ++e.endChecks < END_CHECKS && this.elements.has(e.key)) continue;
      end ??= { state: 'UNKNOWN', exitCode: 0, ok: true };
      if (!this.elements.delete(e.key)) continue; // stopped meanwhile
      const tail = await this.logTail(e.log);
      if (!end.ok) this.log(`${this.system.kind}: job ${e.key} (agent ${e.agentId}) ended ${end.state}`);
      e.done({ exitCode: end.ok ? end.exitCode : end.exitCode || 1, signal: end.ok ? null : end.state, stderrTail: tail });
    }
  }

  /** The end of a job's log: why its agent ended, in the agent's own words or the system's. */
  private async logTail(log: string): Promise<string> {
    return (await this.shell.run(`tail -c ${TAIL_BYTES} ${shq(log)} 2>/dev/null`)).stdout;
  }

  /** Cancels every job of ours still in the queue, those of submissions under way included. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.gather);
    this.gather = undefined;
    clearTimeout(this.poller);
    for (const p of this.pending.splice(0)) p.reject(new FlotillaError('CLOSED', `the ${this.system.title} launcher closed`));
    if (this.submitting.size > 0) {
      const all = Promise.allSettled(this.submitting).then(() => true);
      if (!(await Promise.race([all, sleep(CLOSE_WAIT_MS, false, { ref: false })]))) {
        this.log(`${this.system.kind}: a submission was still under way ${CLOSE_WAIT_MS} ms into close; its job is cancelled when ${this.system.submitter} answers`);
      }
    }
    if (this.arrays.size > 0) await this.shell.run(this.system.cancelCommand([...this.arrays])).catch(() => undefined);
    for (const e of this.elements.values()) e.done({ exitCode: null, signal: 'CANCELLED', stderrTail: '' });
    this.elements.clear();
    await this.remote?.close();
  }
}
