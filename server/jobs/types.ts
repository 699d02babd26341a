/** The shapes of a job: what it is submitted with, what its results and status look like. */
import type { Encoded } from '../../contract/codec.js';
import type { ErrorInfo } from '../../contract/errors.js';
import type { FnSpec } from '../../contract/fnspec.js';
import type { JobUsage, TaskUsage } from '../task-usage.js';

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
}

export interface JobSpec {
  id: string;
  fn: FnSpec;
  pool: string;
  total: number;
  /** Re-runs after a lost agent, or after an error the job's retryIf accepts. */
  retries: number;
  /** Agents that may die while running one task before it is failed as POISONOUS. */
  crashLimit: number;
  timeoutMs: number;
}

/** Hears a running task's partial value (`ctx.emit` on its agent): task index, attempt, value. */
export type PartialListener = (index: number, attempt: number, value: Encoded) => void;
