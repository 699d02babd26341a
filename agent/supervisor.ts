/**
 * The agent's main thread: starts one lane per slot, replaces lanes that crash or hang past
 * their task's deadline, and ends the whole agent when it is idle too long, when the controller
 * has been unreachable past the grace period, or when whoever started it goes away.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { AgentCredentials } from './protocol/identity.js';
import { createLaneStatus, laneRow, S } from './lane-state.js';
import type { LaneData, LaneEvent } from './lane-state.js';
import type { ToController } from '../contract/messages.js';
import type { EarlyLane } from './early-lane.js';

/** A task stuck in synchronous code this long past its deadline gets its lane replaced. */
const STUCK_GRACE_MS = 500;
/** Bytes of each lane's stderr kept, for the failure of a task that kills its lane. */
const LANE_TAIL_BYTES = 4 * 1024;
/** Lane deaths held for the control connection while it is down. */
const MAX_PENDING_REPORTS = 64;
const TICK_MS = 100;
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_GRACE_MS = 30_000;

/** What sizes the thread pools of common math and parallel runtimes (OpenMP, BLAS, Rayon, Julia, R...). */
export const THREAD_VARS = [
  'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'BLIS_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS',
  'NUMEXPR_NUM_THREADS', 'NUMEXPR_MAX_THREADS', 'RAYON_NUM_THREADS', 'JULIA_NUM_THREADS', 'POLARS_MAX_THREADS',
  'MC_CORES', 'FLOTILLA_CORES',
] as const;

/**
 * A lane's environment: every thread variable set to its slot's cores, so N slots running
 * numpy-like code start N × cores threads, not N × all cores. What the agent's own environment
 * already sets (the user's choice) wins.
 */
export function laneEnv(cores: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of THREAD_VARS) if (!out[k]) out[k] = String(cores);
  return out;
}

export interface SupervisorOptions {
  credentials: AgentCredentials;
  /** The credentials line, passed on to lanes as is. */
  credentialsLine: string;
  /** The file the lanes run (this bundle). */
  entry: string;
  /** Exit when this process is re-parented (the launcher died). */
  watchParent: boolean;
  /** A lane thread started while the credentials were awaited: it becomes lane 0. */
  early?: EarlyLane;
  log(line: string): void;
}

export class Supervisor {
  private readonly slots: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly status: SharedArrayBuffer;
  private readonly workers: (Worker | undefined)[];
  private readonly idleTimeoutMs: number;
  private readonly graceMs: number;
  private readonly startPpid = process.ppid;
  private lastConnected = Date.now();
  private stopping = false;
  private controlStarted = false;
  private tick: NodeJS.Timeout | undefined;
  /** Each lane's last stderr output, and the uncaught error its thread is dying of. */
  private readonly tails: string[];
  private readonly dying: ({ origin: string; error: string } | undefined)[];
  private sendControl: ((msg: ToController) => void) | undefined;
  private readonly reports: ToController[] = [];
  private early: EarlyLane | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    const cpus = jobCpus() ?? availableParallelism();
    this.slots = opts.credentials.slots ?? cpus;
    this.env = laneEnv(opts.credentials.cores ?? Math.max(1, Math.floor(cpus / this.slots)));
    this.idleTimeoutMs = opts.credentials.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.graceMs = opts.credentials.graceMs ?? DEFAULT_GRACE_MS;
    this.status = createLaneStatus(this.slots);
    this.workers = new Array(this.slots).fill(undefined);
    this.tails = new Array<string>(this.slots).fill('');
    this.dying = new Array(this.slots).fill(undefined);
    this.early = opts.early;
  }

  start(): void {
    // Logged before the idle clock starts: a reader timing the idle period from this line never
    // sees it shorter than idleTimeoutMs, however slowly the lanes spawn.
    this.opts.log(`agent ${this.opts.credentials.agentId} pid ${process.pid}: ${this.slots} slot(s), dialing ${this.opts.credentials.url}`);
    const now = Date.now();
    const rss = process.memoryUsage.rss();
    for (let i = 0; i < this.slots; i++) {
      laneRow(this.status, i)[S.LAST_ACTIVITY] = now;
      laneRow(this.status, i)[S.RSS_NOW] = rss;
      this.spawn(i);
    }
    this.tick = setInterval(() => this.check(), TICK_MS);
  }

  /** Dials the control connection; called once a lane is up, so it is off the path to the first task. */
  private startControl(): void {
    if (this.controlStarted) return;
    this.controlStarted = true;
    import('./control.js')
      .then(({ runControl }) =>
        runControl(this.opts.credentials, this.slots, {
          recycle: (lane, thread, reason) => {
            const w = this.workers[lane];
            // The controller may still see a thread this agent already replaced (its socket's
            // close not yet handled): the fresh thread in that slot is not the stuck one.
            if (w && (thread === undefined || w.threadId === thread)) this.replace(lane, reason);
            else this.opts.log(`lane ${lane}: controller asked to replace thread ${thread}, already replaced`);
          },
          exit: (reason, code) => void this.shutdown(reason, code),
          connected: (send) => {
            this.sendControl = send;
            if (send) for (const r of this.reports.splice(0)) send(r);
          },
        }),
      )
      .catch((err) => this.opts.log(`control connection failed: ${(err as Error).message}`));
  }

  private spawn(lane: number): void {
    const row = laneRow(this.status, lane);
    row[S.DEADLINE] = 0;
    row[S.BUSY] = 0;
    row[S.CONNECTED] = 0;
    const data: LaneData = { lane, status: this.status, credentials: this.opts.credentialsLine };
    // Its own copy of the environment: tasks and the processes they spawn see the slot's cores.
    // Its stderr passes through here, so the last lines a task wrote can go with its failure.
    // The thread started ahead, if it is still there, for the first lane; a new one otherwise.
    const early = this.early;
    this.early = undefined;
    const w = early?.take({ data, env: this.env }) ?? new Worker(this.opts.entry, { workerData: data, env: this.env, stderr: true });
    this.workers[lane] = w;
    this.tails[lane] = '';
    this.dying[lane] = undefined;
    w.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      if (this.workers[lane] === w) this.tails[lane] = (this.tails[lane] + chunk.toString('utf8')).slice(-LANE_TAIL_BYTES);
    });
    // A replaced thread may still have events on their way (its own request to be replaced):
    // they are about it, not about the thread now in its slot.
    w.on('message', (e: LaneEvent) => this.workers[lane] === w && this.onEvent(lane, e));
    w.on('error', (err) => {
      if (this.workers[lane] === w) this.dying[lane] ??= { origin: 'uncaught exception', error: err.stack ?? `${err.name}: ${err.message}` };
      this.opts.log(`lane ${lane} crashed: ${err.stack ?? err.message}`);
    });
    w.on('exit', (code) => {
      if (this.workers[lane] !== w || this.stopping) return;
      this.workers[lane] = undefined;
      this.report(lane, code);
      this.opts.log(`lane ${lane} exited (code ${code}); starting a new one`);
      this.spawn(lane);
    });
  }

  /** Tells the controller why a lane died on its own, for the task that was running there. */
  private report(lane: number, exitCode: number): void {
    const d = this.dying[lane];
    const cause = d ? `${d.origin}: ${d.error}` : `process.exit(${exitCode}) in task code ended its thread`;
    const msg: ToController = { t: 'lane-end', lane, exitCode, cause, stderrTail: this.tails[lane] ?? '' };
    if (this.sendControl) this.sendControl(msg);
    else if (this.reports.push(msg) > MAX_PENDING_REPORTS) this.reports.shift();
  }

  private replace(lane: number, reason: string): void {
    const w = this.workers[lane];
    this.opts.log(`lane ${lane}: ${reason}; replacing it`);
    this.workers[lane] = undefined;
    void w?.terminate();
    if (!this.stopping) this.spawn(lane);
  }

  private onEvent(lane: number, e: LaneEvent): void {
    switch (e.t) {
      case 'connected':
        this.lastConnected = Date.now();
        this.startControl();
        return;
      case 'disconnected':
        this.opts.log(`lane ${lane} disconnected (${e.code} ${e.reason})`);
        return;
      case 'exit':
        void this.shutdown(`controller asked to exit: ${e.reason}`, 0);
        return;
      case 'fatal':
        void this.shutdown(e.reason, 2);
        return;
      case 'recycle':
        this.replace(lane, e.reason);
        return;
      case 'dying':
        this.dying[lane] = { origin: e.origin, error: e.error };
        return;
    }
  }

  private check(): void {
    const now = Date.now();
    // Sampled here, on a thread task code never blocks: each lane's peak while its task runs.
    const rss = process.memoryUsage.rss();
    let anyConnected = false;
    let anyBusy = false;
    let lastActivity = 0;
    for (let i = 0; i < this.slots; i++) {
      const row = laneRow(this.status, i);
      row[S.RSS_NOW] = rss;
      if (rss > row[S.RSS_PEAK]!) row[S.RSS_PEAK] = rss;
      if (row[S.CONNECTED]) anyConnected = true;
      if (row[S.BUSY]) anyBusy = true;
      lastActivity = Math.max(lastActivity, row[S.LAST_ACTIVITY]!);
      const deadline = row[S.DEADLINE]!;
      if (deadline > 0 && now > deadline + STUCK_GRACE_MS) this.replace(i, 'task still running past its timeout');
    }
    if (anyConnected) this.lastConnected = now;
    else if (now - this.lastConnected > this.graceMs) void this.shutdown(`controller unreachable for ${this.graceMs} ms`, 0);
    if (!anyBusy && now - lastActivity > this.idleTimeoutMs) void this.shutdown(`idle for ${this.idleTimeoutMs} ms`, 0);
    if (this.opts.watchParent && process.ppid !== this.startPpid) void this.shutdown('the process that started this agent is gone', 0);
  }

  /** Ends every lane and the process. */
  async shutdown(reason: string, code: number): Promise<never> {
    if (!this.stopping) {
      this.stopping = true;
      clearInterval(this.tick);
      this.opts.log(`agent ${this.opts.credentials.agentId} exiting: ${reason}`);
      const force = setTimeout(() => process.exit(code), 1000);
      force.unref();
      await Promise.allSettled(this.workers.map((w) => w?.terminate()));
    }
    process.exit(code);
  }
}

/**
 * The cores a batch job got, where the system says (SLURM_CPUS_ON_NODE, Grid Engine's NSLOTS):
 * a pool with `cores: 'all'` leaves the agent to size its slots from them.
 */
function jobCpus(): number | undefined {
  for (const k of ['SLURM_CPUS_ON_NODE', 'NSLOTS']) {
    const n = Number(process.env[k]);
    if (Number.isInteger(n) && n > 0) return n;
  }
  return undefined;
}
