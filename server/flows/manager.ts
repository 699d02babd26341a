/**
 * The controller's flows: submit (cache lookup, plan, ONE job of units), status with per-stage
 * progress, collected rows, list, cancel. Each flow's units job is watched from here, so the
 * cache fills as rows finish (reported by their running unit) whether or not a client is listening.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { encodeValue } from '../../contract/codec.js';
import type { Encoded } from '../../contract/codec.js';
import { FlotillaError } from '../../contract/errors.js';
import type { ErrorInfo } from '../../contract/errors.js';
import type { FnSpec } from '../../contract/fnspec.js';
import type { ControlPlane, FlowService, FlowSummary } from '../control-plane.js';
import { DONE, RUNNING } from '../job.js';
import type { Job } from '../job.js';
import { MAX_CHUNK } from '../../contract/schemas.js';
import { FlowDb } from './db.js';
import type { FlowRecord } from './db.js';
import { cachedOutputs, CacheWriter } from './cached.js';
import { cacheKeys, rowHash } from './keys.js';
import { groupRows, planUnits } from './plan.js';
import { placementProblems, unitRequires } from './placement.js';
import { prepareFlow, throwProblems } from './prepare.js';
import { FlowRun } from './run.js';
import { watchRun } from './watch.js';
import type { DistributeInput, FlowSubmitInput } from '../../contract/flow-schemas.js';
import type { FlowProblem, FlowStatus } from '../../contract/flow-types.js';

export type { FlowSummary } from '../control-plane.js';

/** Finished flows kept in memory; older ones are rebuilt from the database when asked for. */
const KEEP_FINISHED = 200;

export class FlowManager implements FlowService {
  private db: FlowDb | undefined;
  private readonly runs = new Map<string, FlowRun>();
  private readonly finished: string[] = [];
  private readonly stops = new Set<() => void>();
  /** Stage outputs on their way to the cache, written a batch per event-loop turn. */
  private readonly writer = new CacheWriter(() => this.database(), (line) => this.log(line));

  /**
   * @param dbPath the flow database (cache and records); undefined: flows kept in memory, no cache.
   *   Opened on first use: a controller that never runs a flow never creates the file.
   */
  constructor(private readonly plane: ControlPlane, private readonly dbPath: string | undefined, private readonly log: (line: string) => void) {}

  /** Picks up the unfinished flows of an earlier run of this controller, whose units jobs were restored. */
  resume(): void {
    if (!this.dbPath || !existsSync(this.dbPath)) return;
    for (const f of this.database()!.flows()) {
      if (f.state === 'running' && f.jobId && this.plane.findJob(f.jobId)) {
        this.load(f.id);
        this.log(`resumed flow ${f.id}`);
      }
    }
  }

  private database(): FlowDb | undefined {
    if (!this.db && this.dbPath) this.db = new FlowDb(this.dbPath);
    return this.db;
  }

  /** Problems of running units with these options here: the pool exists and can meet what a unit requires. */
  preflight(d: DistributeInput = {}): FlowProblem[] {
    return placementProblems(this.plane, d);
  }

  /** Submits a flow: cached rows are not sent; the rest go as one job of units. */
  submit(input: FlowSubmitInput): FlowStatus {
    const prep = prepareFlow(input);
    const problems = this.preflight(prep.distribute);
    if (problems.length > 0) throwProblems(problems);
    const { rows, stages, distribute } = prep;
    const keys = cacheKeys(stages, rows.map(rowHash));
    const db = this.database();
    const done = cachedOutputs(db, stages, keys);
    const pending: number[] = [];
    done.forEach((d, r) => Object.keys(d).length < stages.length && pending.push(r));
    const units = planUnits(groupRows(rows, distribute.by), pending, distribute);
    const id = `fl-${randomBytes(6).toString('hex')}`;
    const unitArg = (k: number): Encoded =>
      encodeValue({ rows: units[k]!.map(({ row, group }) => ({ row, group, params: rows[row]!, ...(Object.keys(done[row]!).length ? { done: done[row] } : {}) })) }, `unit ${k}`);
    const jobId = units.length > 0 ? this.submitUnits(id, prep.unitFn, units.length, unitArg, distribute) : undefined;
    const record: FlowRecord = {
      id, name: input.name, createdAt: Date.now(), jobId, state: 'running', finishedAt: undefined,
      grid: input.grid, stages: stages.map((s) => ({ name: s.name, needs: s.needs })), units: units.map((u) => u.map((x) => x.row)), keys,
      pool: jobId ? this.plane.job(jobId).pool : (distribute.pool ?? this.plane.defaultPool),
    };
    db?.insertFlow(record);
    // The decoded rows are the run's params: the grid is held once, not also encoded and decoded again.
    const run = new FlowRun(record, rows);
    done.forEach((d, r) => stages.forEach((s, i) => Object.hasOwn(d, s.name) && run.setCached(r, i, d[s.name])));
    this.attach(run);
    return run.status();
  }

  /** Submits the units job; each chunk of unit arguments is encoded only when its turn comes. */
  private submitUnits(flow: string, fn: FnSpec, total: number, arg: (k: number) => Encoded, d: DistributeInput): string {
    const chunk = (from: number): Encoded[] => Array.from({ length: Math.min(MAX_CHUNK, total - from) }, (_, i) => arg(from + i));
    const { jobId } = this.plane.submit({
      fn,
      args: chunk(0),
      total,
      pool: d.pool,
      requires: unitRequires(d),
      retries: d.retries,
      timeoutMs: d.timeoutMs,
    }, flow);
    for (let at = MAX_CHUNK; at < total; at += MAX_CHUNK) this.plane.append({ jobId, offset: at, args: chunk(at) });
    return jobId;
  }

  /** Follows a flow's units job: results fill the run and the cache; its end finishes the flow. */
  private attach(run: FlowRun): void {
    this.runs.set(run.record.id, run);
    const { jobId } = run.record;
    const job = jobId ? this.plane.findJob(jobId) : undefined;
    if (!jobId || !job) {
      if (jobId && !run.finished) this.interrupt(run);
      this.settle(run);
      return;
    }
    run.unitState = (u) => unitState(job, u);
    const failed = (err: unknown) => this.log(`flow ${run.record.id}: ${FlotillaError.from(err).message}`);
    // Rows finished inside a running unit: counted and cached now, so a crash keeps them.
    const unhear = job.onPartial((unit, _attempt, value) => {
      try {
        this.writer.push(run.applyPartial(unit, value));
      } catch (err) {
        failed(err);
      }
    });
    let watching: (() => void) | undefined;
    let ended = false;
    const stop = () => {
      ended = true;
      unhear();
      watching?.();
      this.stops.delete(stop);
    };
    // Declared first: the watch may call back at once (a job already finished).
    watching = job.watch(0, (seq, results) => {
      this.writer.push(run.apply(results));
      if (seq >= job.total) {
        stop();
        this.settle(run, job.finishedAt);
      }
    }, failed);
    if (ended) watching();
    else this.stops.add(stop);
    if (job.total === 0) this.settle(run);
  }

  /** The job of an unfinished flow is gone (an embedded controller's): rows not cached end CLOSED. */
  private interrupt(run: FlowRun): void {
    run.interrupted = true;
    const error: ErrorInfo = { code: 'CLOSED', message: `the controller running flow ${run.record.id} stopped before this row finished; submit the flow again to go on from the cache` };
    run.params.forEach((_, r) => run.failRest(r, error));
  }

  private settle(run: FlowRun, at?: number): void {
    this.writer.flush();
    if (!run.finished) {
      run.finish(at);
      this.database()?.setState(run.record.id, run.cancelled ? 'cancelled' : 'done', run.finishedAt);
    }
    this.finished.push(run.record.id);
    while (this.finished.length > KEEP_FINISHED) this.runs.delete(this.finished.shift()!);
  }

  /** Rebuilds a flow from its record: cached outputs, then its units job's results if it is still here. */
  private load(id: string): FlowRun | undefined {
    const record = this.database()?.flow(id);
    if (!record) return undefined;
    const run = new FlowRun(record);
    cachedOutputs(this.database(), record.stages, record.keys).forEach((d, r) => record.stages.forEach((s, i) => Object.hasOwn(d, s.name) && run.setCached(r, i, d[s.name])));
    this.attach(run);
    return run;
  }

  /** A flow by id, or NOT_FOUND. */
  get(id: string): FlowRun {
    const run = this.runs.get(id) ?? this.load(id);
    if (!run) throw new FlotillaError('NOT_FOUND', `no flow ${id} on this controller`);
    return run;
  }

  status(id: string): FlowStatus {
    return this.get(id).status();
  }

  /** Collected rows [from, from + max) in grid order, encoded as one array. */
  rows(id: string, from: number, max: number): { rows: Encoded; total: number; state: FlowStatus['state'] } {
    const run = this.get(id);
    const end = Math.min(run.params.length, from + max);
    const out: Record<string, unknown>[] = [];
    for (let r = from; r < end; r++) out.push(run.row(r));
    return { rows: encodeValue(out, 'collected rows'), total: run.params.length, state: run.status().state };
  }

  /** Flows this controller (and its database) knows, oldest first. */
  list(): FlowSummary[] {
    const out = new Map<string, FlowSummary>();
    for (const f of this.database()?.flows() ?? []) {
      // A flow left running by a controller that is gone (its units job unknown here) will not go on.
      const lost = f.state === 'running' && !(f.jobId && this.plane.findJob(f.jobId));
      out.set(f.id, lost ? { ...f, state: 'interrupted' } : f);
    }
    for (const run of this.runs.values()) {
      const s = run.status();
      out.set(s.id, { id: s.id, name: s.name, createdAt: s.createdAt, finishedAt: s.finishedAt, jobId: s.jobId, state: s.state });
    }
    return [...out.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Cancels a flow: queued units are dropped, running ones aborted; their rows end skipped. */
  cancel(id: string): { cancelled: boolean } {
    const run = this.get(id);
    if (run.finished) return { cancelled: false };
    run.cancelled = true;
    const { jobId } = run.record;
    if (jobId && this.plane.findJob(jobId)) this.plane.cancel(jobId);
    else this.settle(run);
    return { cancelled: true };
  }

  /** Statuses as the flow progresses (at most ~10 a second), ending with its final one. */
  watch(id: string, signal?: AbortSignal): AsyncGenerator<FlowStatus> {
    return watchRun(this.get(id), this.plane.closingSignal, signal);
  }

  close(): void {
    this.writer.flush();
    for (const stop of this.stops) stop();
    this.stops.clear();
    this.db?.close();
  }
}

function unitState(job: Job, u: number): 'queued' | 'running' | 'done' {
  if (job.finished) return 'done';
  const st = job.state[u];
  return st === RUNNING ? 'running' : st === DONE ? 'done' : 'queued';
}
