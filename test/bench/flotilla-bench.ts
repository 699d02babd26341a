/**
 * The flotilla side of the core benchmark, through the public API only: agent readiness,
 * single-task latency and tiny-task throughput on a session with local agents.
 */
import type { ConnectOptions } from '../../client/connect.js';
import type { Session } from '../../client/session.js';
import { median, nowUs, percentile, within } from './stats.js';

export type Connect = (opts: ConnectOptions) => Promise<Session>;

export interface ReadyResult {
  medianMs: number;
  samplesMs: number[];
  /**
   * When the last agent's main thread was up (its supervisor logged that it is dialing), ms
   * after connect() was called: process spawn + loading the bundle + reading credentials. The
   * rest of the ready time is the lane thread starting, connecting and the handshake.
   */
  agentsUpMedianMs: number | undefined;
  /** Time `close()` took, per session, ms. */
  closeMs: number[];
  /** With `bare`: its sample taken right before each connect(), ms. */
  bareMs?: number[];
  /** With `bare`: the median of each connect()'s time over the bare sample beside it, the first (cold) pair left out. */
  pairedRatio?: number;
}

/**
 * Times `connect()` with `waitForAgents` until it resolves, on `reps` fresh sessions; with
 * `bare`, takes one of its samples (a bare node child connecting) right before each.
 */
export async function measureReady(connect: Connect, opts: ConnectOptions, reps: number, bare?: () => Promise<number>): Promise<ReadyResult> {
  const samplesMs: number[] = [];
  const upMs: number[] = [];
  const closeMs: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    if (bare) bareMs.push(await bare());
    const up = new Map<string, number>();
    const t0 = nowUs();
    // The embedded controller forwards agents' stderr lines to this log; it only notes times.
    const log = (line: string) => {
      const m = /^(\S+): .*dialing/.exec(line);
      if (m && !up.has(m[1]!)) up.set(m[1]!, (nowUs() - t0) / 1e3);
    };
    const fl = await within(connect({ ...opts, controller: { ...opts.controller, log } }), 30_000, 'connect() with waitForAgents');
    samplesMs.push((nowUs() - t0) / 1e3);
    if (up.size > 0) upMs.push(Math.max(...up.values()));
    const t1 = nowUs();
    await within(fl.close(), 30_000, 'session close()');
    closeMs.push((nowUs() - t1) / 1e3);
  }
  const paired = bare ? median(samplesMs.slice(1).map((ms, i) => ms / bareMs[i + 1]!)) : undefined;
  return { medianMs: median(samplesMs), samplesMs, agentsUpMedianMs: upMs.length ? median(upMs) : undefined, closeMs, ...(bare ? { bareMs, pairedRatio: paired } : {}) };
}

export interface LatencyResult {
  calls: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
  /** map() call until the controller acknowledged the submit (job id known), median us. */
  submitMedianUs: number;
  /** From the acknowledgement until the awaited values, median us. */
  resultMedianUs: number;
}

/** `await session.map([i], (x) => x)`, one call after another. */
export async function measureLatency(fl: Session, calls: number, warmup: number): Promise<LatencyResult> {
  const total: number[] = [], submit: number[] = [], rest: number[] = [];
  for (let i = 0; i < warmup + calls; i++) {
    const t0 = nowUs();
    let tId = 0;
    const job = fl.map([i], (x) => x);
    void job.id.then(() => (tId = nowUs()));
    const [v] = await job;
    const t1 = nowUs();
    if (v !== i) throw new Error(`latency call ${i} returned ${String(v)}`);
    if (i < warmup) continue;
    total.push(t1 - t0);
    submit.push(tId - t0);
    rest.push(t1 - tId);
  }
  return {
    calls,
    medianUs: median(total),
    p99Us: percentile(total, 99),
    meanUs: total.reduce((a, b) => a + b, 0) / total.length,
    submitMedianUs: median(submit),
    resultMedianUs: median(rest),
  };
}

export interface ThroughputRun {
  seconds: number;
  tasksPerS: number;
  /** Time spent inside map() itself (shipping the function, encoding items), ms. */
  mapCallMs: number;
  /** map() call until the controller acknowledged the submit, ms. */
  submitMs: number;
}

export interface ThroughputResult {
  tasks: number;
  medianTasksPerS: number;
  bestTasksPerS: number;
  runs: ThroughputRun[];
}

/** One `session.map(items, (x) => x)` of `tasks` tiny tasks per run, timed to the awaited values. */
export async function measureThroughput(fl: Session, tasks: number, reps: number): Promise<ThroughputResult> {
  const items = Array.from({ length: tasks }, (_, i) => i);
  const runs: ThroughputRun[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = nowUs();
    let tId = 0;
    const job = fl.map(items, (x) => x);
    const tMap = nowUs();
    void job.id.then(() => (tId = nowUs()));
    const values = await within(Promise.resolve(job), 300_000, `map of ${tasks} tasks`);
    const t1 = nowUs();
    if (values.length !== tasks || values[tasks - 1] !== tasks - 1) throw new Error(`map of ${tasks} returned wrong values`);
    const seconds = (t1 - t0) / 1e6;
    runs.push({ seconds, tasksPerS: tasks / seconds, mapCallMs: (tMap - t0) / 1e3, submitMs: (tId - t0) / 1e3 });
  }
  const rates = runs.map((r) => r.tasksPerS);
  return { tasks, medianTasksPerS: median(rates), bestTasksPerS: Math.max(...rates), runs };
}
