/**
 * The control plane's core: the jobs (submitted, appended, cancelled, restored after a restart,
 * retired when old), the scheduler that runs them and the pools that give it lanes. It is what
 * the API layer calls, through the `ControlPlane` interface.
 */
import { rightSizing } from './right-sizing.js';
import { randomBytes } from 'node:crypto';
import { badInput, FlotillaError } from '../contract/errors.js';
import type { ErrorInfo } from '../contract/errors.js';
import { specArtifacts } from '../contract/fnspec.js';
import { Job } from './job.js';
import type { JobStatus, JobWatcher } from './job.js';
import type { Lane, LaneInfo } from './lane.js';
import type { LogLine, LogRing } from './log-ring.js';
import type { Pool, PoolStatus } from './pool.js';
import type { PoolSet } from './pool-set.js';
import type { Scheduler } from './scheduler.js';
import type { ControlEventStream } from './events.js';
import type { AgentRegistry } from './registry.js';
import type { ArtifactStore } from './artifacts.js';
import type { FunctionRegistry } from './functions/registry.js';
import type { PruneResult } from './runtime/prune.js';
import type { JobStore } from './store/job-store.js';
import type { AppendInput, SubmitInput } from '../contract/schemas.js';
import type { ControlPlane, FlowService } from './control-plane.js';
import { MAX_TOTAL, checkArgs, checkGlobals } from './submit-checks.js';
import { choosePool } from './routing.js';
import { Fifo } from '../contract/fifo.js';

/** A finished job is kept at least this long for its submitter to collect (see `retire`)... */
const RETAIN_FINISHED_MS = 60_000;
/** ...unless more than this many finished that recently. */
const MAX_RECENT_JOBS = 100_000;

/** The parts the core is made of, built by the controller. */
export interface CoreParts {
  version: string;
  defaultPool: string;
  events: ControlEventStream;
  scheduler: Scheduler;
  pools: PoolSet;
  registry: AgentRegistry;
  logs: LogRing;
  artifacts: ArtifactStore;
  functions: FunctionRegistry;
  store: JobStore | undefined;
  closingSignal: AbortSignal;
  /** Finished jobs kept for late collection. @default 1000 */
  retainJobs?: number;
  log: (line: string) => void;
}

export class Core implements ControlPlane {
  readonly version: string;
  readonly defaultPool: string;
  readonly events: ControlEventStream;
  readonly closingSignal: AbortSignal;
  readonly artifacts: ArtifactStore;
  readonly functions: FunctionRegistry;
  /** Set once by the controller, which builds the flows on this core. */
  flows!: FlowService;
  /** Set when the controller closes: no new work is taken. */
  closed = false;
  /** Job ids: a random prefix per controller and a counter, unique without a syscall each. */
  private readonly idPrefix = randomBytes(4).toString('hex');
  private jobCounter = 0;
  /** Retires each job this controller submitted once it finished (one object for all of them). */
  private readonly retirer: JobWatcher = { published: () => {}, finished: (j) => this.retire(j) };
  /** Finished jobs' ids, oldest first, and when each finished (two lists: no object per job). */
  private readonly finishedJobs = new Fifo<string>();
  private readonly finishedAt = new Fifo<number>();

  constructor(private readonly parts: CoreParts) {
    this.version = parts.version;
    this.defaultPool = parts.defaultPool;
    this.events = parts.events;
    this.closingSignal = parts.closingSignal;
    this.artifacts = parts.artifacts;
    this.functions = parts.functions;
  }

  get pools(): ReadonlyMap<string, Pool> {
    return this.parts.pools.pools;
  }

  get durable(): boolean {
    return this.parts.store !== undefined;
  }

  /**
   * Jobs the store holds from before a restart: finished ones can still be collected; the others
   * go on, their finished tasks kept and everything else queued again.
   */
  restoreJobs(): void {
    const { store, scheduler, log } = this.parts;
    if (!store) return;
    for (const row of store.jobs()) {
      if (row.finishedAt === undefined && row.total > MAX_TOTAL) {
        // An older controller took any count: run the tasks that arrived, drop the rest.
        log(`job ${row.id} declares ${row.total} tasks, more than the ${MAX_TOTAL} a job may have; it goes on with the ${row.appended} whose arguments arrived`);
        row.total = row.appended;
        store.setTotal(row.id, row.total);
      }
      const job = Job.restore(row, store);
      if (job.finished) {
        scheduler.jobs.set(job.id, job);
        this.retire(job);
        continue;
      }
      job.notify(this.retirer);
      scheduler.submit(job);
      // A job whose submitter was cut off by the crash will get no more arguments.
      if (!job.sealed) this.abandonSubmission(job.id, 'the controller restarted before this job was fully submitted');
      if (job.cancelled) scheduler.cancel(job.id);
      log(`resumed job ${job.id}: ${job.done} of ${job.total} tasks already finished`);
    }
  }

  /**
   * Queues a map (or its first chunk of arguments); returns its job id. Everything is checked
   * before anything is created, and a failure after that undoes what was: a submit that throws
   * leaves nothing scheduled.
   */
  submit(input: SubmitInput, flow?: string): { jobId: string; total: number } {
    const job = this.submitJob(input, flow);
    return { jobId: job.id, total: job.total };
  }

  /** `submit`, giving the job itself (an in-process caller follows it without looking it up). */
  submitJob(input: SubmitInput, flow?: string): Job {
    if (this.closed) throw new FlotillaError('CLOSED', 'the controller is closed');
    const { scheduler, store } = this.parts;
    const total = input.total ?? input.args.length;
    if (!Number.isSafeInteger(total) || total < 0 || total > MAX_TOTAL) badInput('total', total, `a task count from 0 to ${MAX_TOTAL} (split larger work into several jobs)`);
    const needs = input.fn && (input.fn.artifacts || input.fn.module || input.fn.setup) ? specArtifacts(input.fn) : undefined;
    const lacking = needs ? this.artifacts.missing(needs) : [];
    if (lacking.length > 0) throw new FlotillaError('BAD_INPUT', `the function needs module artifact(s) the controller does not have: ${lacking.join(', ')} (upload them with artifacts.put first)`, { context: { missing: lacking } });
    if (input.args.length > total) badInput('total', total, `at least the ${input.args.length} arguments given`);
    checkArgs(input.args, 0);
    const fn = input.fn ?? this.functions.resolve(input.fnName!, input.fnVersion);
    checkGlobals(fn);
    const pool = choosePool(this.pools, input, this.defaultPool);
    if (pool.failure) throw new FlotillaError('LAUNCH_FAILED', pool.failure);
    const job = new Job(
      { id: `j-${this.idPrefix}${(this.jobCounter++).toString(36)}`, fn, total, pool: pool.name, retries: input.retries ?? 2, crashLimit: input.crashLimit ?? 3, timeoutMs: input.timeoutMs ?? 0 },
      store,
    );
    try {
      job.persist();
      job.append(0, input.args);
      job.notify(this.retirer);
      scheduler.submit(job, flow);
    } catch (err) {
      scheduler.withdraw(job);
      store?.deleteJob(job.id);
      throw err;
    }
    if (job.finished) this.retire(job);
    pool.ensure();
    return job;
  }

  append(input: AppendInput): { appended: number } {
    if (this.closed) throw new FlotillaError('CLOSED', 'the controller is closed');
    const job = this.job(input.jobId);
    if (job.sealed || job.cancelled) throw new FlotillaError('BAD_INPUT', `job ${job.id} takes no more arguments (${job.cancelled ? 'cancelled' : 'all ' + job.total + ' arrived'})`);
    if (input.offset !== job.appended) badInput('offset', input.offset, `${job.appended}, where job ${job.id}'s arguments stop`);
    if (input.offset + input.args.length > job.total) badInput('args', `${input.args.length} arguments`, `at most ${job.total - job.appended} more for job ${job.id}`);
    checkArgs(input.args, input.offset);
    job.append(input.offset, input.args);
    this.parts.scheduler.extended(job);
    this.pools.get(job.pool)?.ensure();
    return { appended: job.appended };
  }

  abandonSubmission(jobId: string, why: string): void {
    const job = this.findJob(jobId);
    if (!job || job.sealed || job.finished) return;
    // One error shared by every such task (clients fill taskIndex in from each result's index).
    const error: ErrorInfo = { code: 'CANCELLED', message: `never submitted: ${why}`, context: { jobId, pool: job.pool } };
    job.failRest(error, { from: job.appended });
  }

  cancel(jobId: string, index?: number): { cancelled: number } {
    return this.parts.scheduler.cancel(jobId, index);
  }

  /**
   * Keeps the newest `retainJobs` finished jobs for late collection; forgets older ones, but not
   * before they have been finished for RETAIN_FINISHED_MS (up to MAX_RECENT_JOBS of them): a
   * client that submitted thousands of small jobs at once may subscribe to a job's results
   * after thousands of others have finished.
   */
  private retire(job: Job): void {
    const now = Date.now();
    this.finishedJobs.push(job.id);
    this.finishedAt.push(now);
    const keep = this.parts.retainJobs ?? 1000;
    const recent = now - RETAIN_FINISHED_MS;
    while (this.finishedJobs.length > keep) {
      if (this.finishedAt.peek()! > recent && this.finishedJobs.length <= MAX_RECENT_JOBS) break;
      this.finishedAt.shift();
      const oldest = this.finishedJobs.shift()!;
      this.parts.scheduler.jobs.delete(oldest);
      this.parts.store?.deleteJob(oldest);
    }
  }

  job(id: string): Job {
    const job = this.findJob(id);
    if (!job) throw new FlotillaError('NOT_FOUND', `no job ${id} on this controller`);
    return job;
  }

  findJob(id: string): Job | undefined {
    return this.parts.scheduler.jobs.get(id);
  }

  jobs(): Iterable<Job> {
    return this.parts.scheduler.jobs.values();
  }

  jobStatus(job: Job): JobStatus {
    const status = job.status();
    const fit = rightSizing(this.pools.get(job.pool)?.opts, status.usage);
    const s = fit ? { ...status, fit } : status;
    if (s.queued === 0 || job.finished) return s;
    const waiting = this.pools.get(job.pool)?.waitingReason();
    return waiting === undefined ? s : { ...s, waiting };
  }

  agents(): { pools: PoolStatus[]; lanes: LaneInfo[] } {
    // The launcher knows which Node it started each agent with (SSH and SLURM pools).
    const runtime = (l: { pool: string; agentId: string }) => this.pools.get(l.pool)?.handles.get(l.agentId)?.runtime;
    return { pools: this.parts.pools.status(), lanes: [...this.parts.scheduler.lanes].map((l) => ({ ...l.info(), runtime: runtime(l) })) };
  }

  logs(agentId?: string): LogLine[] {
    const lines = this.parts.logs.read(agentId);
    // An agent that never wrote a line is still known by its key; an id that is neither is a typo.
    if (agentId !== undefined && lines.length === 0 && !this.parts.registry.lookup(agentId)) {
      throw new FlotillaError('NOT_FOUND', `no such agent: ${agentId} (flotilla agents lists them)`);
    }
    return lines;
  }

  lanesOf(pool: string): Lane[] {
    // Lanes that are leaving (scale-down, maxTasks) are not offered: they may be gone before work reaches them.
    return [...this.parts.scheduler.lanes].filter((l) => l.pool === pool && l.channel.isOpen && !l.retiring);
  }

  runPinned(job: Job, lanes: readonly Lane[]): void {
    this.parts.scheduler.runPinned(job, lanes);
  }

  forgetJob(id: string): void {
    this.parts.scheduler.jobs.delete(id);
  }

  dropSetup(ids?: string[]): number {
    return this.parts.scheduler.dropSetup(ids);
  }

  pruneCache(host: string): Promise<PruneResult> {
    return this.parts.pools.pruneCache(host);
  }

  reportInternal(what: string, err: unknown): void {
    this.parts.log(`${what} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  /** Every waiting client gets an answer: what did not finish, will not (durable jobs stay, to go on at the next start). */
  failUnfinished(): void {
    if (this.parts.store) return;
    for (const job of this.parts.scheduler.jobs.values()) {
      const error: ErrorInfo = { code: 'CLOSED', message: 'the controller closed before this task finished', context: { jobId: job.id, pool: job.pool } };
      job.failRest(error);
    }
  }
}
