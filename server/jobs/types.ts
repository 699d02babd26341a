/**
 * The shapes of a job: what it is submitted with; what its results and status look like is the
 * API's (contract/job-types.ts).
 */
import type { Encoded } from '../../contract/codec.js';
import type { FnSpec } from '../../contract/fnspec.js';

export type { JobStatus, RunMeta, TaskResult } from '../../contract/job-types.js';

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
