/**
 * What the flow procedures return: a flow's status with per-stage progress, and the error of a
 * failed row. Shared by the controller, the CLI and the client.
 */
import type { ErrorContext, FlotillaErrorCode } from './errors.js';

/** Rows of one stage by how far they got. */
export interface StageProgress {
  name: string;
  /** Rows whose stage output is there (run now or taken from the cache). */
  done: number;
  /** Of `done`, rows taken from the cache. */
  cached: number;
  /** Rows in a unit that is running, whose stage output is not there yet. */
  running: number;
  /** Rows in a unit waiting for a slot. */
  queued: number;
  failed: number;
  /** Rows not run because a stage they need failed, or because the flow was cancelled. */
  skipped: number;
}

/** How a flow's rows were split into units (one unit = one task of the flow's job). */
export interface FlowPlan {
  units: number;
  /** Rows of each unit, in task order. */
  rowsPerUnit: number[];
  /** Rows every stage of which was cached: not sent at all. */
  cachedRows: number;
  pool: string;
}

/** A flow's progress. */
export interface FlowStatus {
  id: string;
  name: string | undefined;
  /** `interrupted`: the controller that ran it stopped before it finished, and its job is gone. */
  state: 'running' | 'done' | 'cancelled' | 'interrupted';
  /** The job of its units; undefined when nothing had to run. */
  jobId: string | undefined;
  rows: number;
  /** Rows finished: every stage ok, or one failed or skipped. */
  rowsFinished: number;
  rowsFailed: number;
  createdAt: number;
  finishedAt: number | undefined;
  plan: FlowPlan;
  stages: StageProgress[];
}

/** Why a row failed: the stage that did, and its error. */
export interface FlowRowError {
  stage: string;
  code: FlotillaErrorCode;
  message: string;
  name?: string;
  stack?: string;
  context?: ErrorContext;
}

/** One problem a preflight found: where (stage, row) and what. */
export interface FlowProblem {
  stage?: string;
  row?: number;
  message: string;
}
