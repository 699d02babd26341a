/**
 * What the API says about jobs and their tasks: the declarations the controller implements and
 * the client reads (status, results as they stream, what the tasks used).
 */
import type { Encoded } from './codec.js';
import type { ErrorInfo } from './errors.js';

/**
 * One task's timings and use, as results carry them: [queued at, finished at (epoch ms, the
 * controller's clock), duration µs, CPU µs (-1: not measured), the agent's peak resident memory
 * while it ran (KiB, -1: not measured)].
 */
export type TaskUsage = [queuedAt: number, finishedAt: number, durationUs: number, cpuUs: number, peakRssKb: number];

/** Percentiles of one measure over a job's tasks. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One of a job's slowest tasks. */
export interface SlowTask {
  index: number;
  durationMs: number;
  agentId?: string;
  host?: string;
}

/** What a job's finished tasks used (those that ran on an agent). */
export interface JobUsage {
  /** Tasks measured. */
  tasks: number;
  /** Task durations (ms). */
  durationMs: Percentiles;
  /** The agents' peak resident memory while the tasks ran (bytes), where measured. */
  peakRssBytes: Percentiles | undefined;
  /** Time the measured tasks ran, all together (ms). */
  busyMs: number;
  /** CPU time of all measured tasks together (ms), and of the most expensive one. */
  cpuMs: { total: number; max: number } | undefined;
  /** The 5 slowest tasks, slowest first. */
  slowest: SlowTask[];
}

/** Which run produced a result. */
export interface RunMeta {
  attempt?: number;
  agentId?: string;
  host?: string;
  /** Its timings and what it used, when it ran on an agent (a few numbers, not an object per field). */
  u?: TaskUsage;
}

/** One task's outcome, as the controller records it and streams it to clients. */
export type TaskResult = ({ index: number; ok: true; value: Encoded } | { index: number; ok: false; error: ErrorInfo }) & RunMeta;


/** What a job's status query returns. */
export interface JobStatus {
  id: string;
  pool: string;
  state: 'submitting' | 'running' | 'done' | 'cancelled';
  total: number;
  done: number;
  failed: number;
  running: number;
  queued: number;
  createdAt: number;
  finishedAt: number | undefined;
  /**
   * Why queued tasks are not running while no agent of the job's pool takes work: agents
   * starting, a launch backing off after failures, or the pool's reason for giving up.
   */
  waiting?: string;
  /** What the finished tasks used: duration and memory percentiles, CPU, the slowest tasks. */
  usage?: JobUsage;
  /** For jobs of batch pools: what each agent's job asked for against what the tasks used. */
  fit?: RightSizing;
}

/** What one agent's batch job asked for, and what a job's tasks used of it (see server/right-sizing.ts). */
export interface RightSizing {
  requested: { walltimeMs?: number; memoryBytes?: number; cores?: number; slots: number };
  used: { p99DurationMs: number; maxDurationMs: number; peakRssBytes?: number; coresPerTask?: number };
  /** One line per resource asked for, as `flotilla status` prints them. */
  lines: string[];
}

/** Results of one stream event: a run of the job's completion log. */
export interface ResultBatch {
  /** Offset in the log just past these results: resume from here. */
  seq: number;
  results: TaskResult[];
  total: number;
  /** The job's pool. */
  pool: string;
}
