/**
 * The types a flow infers: a stage's input is the row's params plus the outputs of the stages it
 * needs; each stage adds its output to the flow's row; a collected row is ok (every output there)
 * or failed/skipped (outputs of the stages that got that far, and the error).
 */
import type { z } from 'zod';
import type { CommandOutput, Within } from '../../contract/flow-unit.js';
import type { TaskContext } from '../../contract/task-context.js';
import type { FlowRowError } from '../../contract/flow-types.js';
import type { MapSchedulingOptions } from '../../contract/schemas.js';

/** Flattens an intersection for readable hovers and exact type tests. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** What a stage function gets: the row's params and the outputs of the stages it `needs`. */
export type StageInput<P, S, Need extends keyof S> = Simplify<P & { [K in Need]: S[K] }>;

/** A function stage: called once per row on an agent. */
export type StageFn<I, O> = (input: I, ctx: TaskContext) => O;

/** Options of a function stage. */
export interface StageOptions<Need extends string> {
  /** Stages whose outputs this one reads (in its input under their names); they run first. */
  needs?: readonly Need[];
  /** Names the function uses from outside itself, shipped with it. */
  globals?: Record<string, unknown>;
  /** Per-row time limit of this stage in ms. @default none */
  timeoutMs?: number;
  /**
   * false: always run this stage, neither taking its outputs from the flow cache nor storing
   * them (for a stage that is not deterministic: random, the time, outside data). Stages that
   * need it are not cached either. @default true
   */
  cache?: boolean;
}

/** Options of a command stage. */
export interface CommandOptions<Need extends string> {
  /** Stages whose outputs the command's `{stage.key}` placeholders read. */
  needs?: readonly Need[];
  /** Working folder on the agent. @default the agent's */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Per-row time limit in ms. @default none */
  timeoutMs?: number;
  /** false: always run this command, as for a function stage's `cache`. @default true */
  cache?: boolean;
}

/** How a flow's rows become units (tasks) and where they run. See README "Flows". */
export interface DistributeOptions<P> {
  /** Rows with equal values in these columns form a group; a group runs in one unit. @default each row its own group */
  by?: readonly (keyof P & string)[];
  /** Most rows per unit: larger groups are split; without `by`, rows are packed this many a unit. @default whole group with `by`, 1 without */
  chunksPerJob?: number;
  /** Pack the units into exactly this many (fewer if there are fewer), balanced by rows, never splitting one. */
  targetJobs?: number;
  /** Rows of one unit that run at once; units then require `cores = workersWithin` unless `requires` is given. @default 1 */
  workersWithin?: number;
  /** How rows run within a unit. @default 'inline' */
  within?: Within;
  /** Pool of the units. @default the controller's default pool (or the first that meets `requires`) */
  pool?: string;
  /** What one unit needs from its slot. @default { cores: workersWithin } when workersWithin > 1 */
  requires?: MapSchedulingOptions['requires'];
  /** Re-runs of a unit whose agent was lost. @default 2 */
  retries?: number;
  /** Time limit of one unit in ms. @default none */
  timeoutMs?: number;
}

/** A collected row whose every stage succeeded. */
export type OkRow<P, S> = Simplify<P & S & { status: 'ok'; error?: undefined; cached?: true }>;
/** A collected row that failed (a stage threw, exited non-zero...) or was skipped (cancelled). */
export type FailedRow<P, S> = Simplify<P & Partial<S> & { status: 'failed' | 'skipped'; error: FlowRowError; cached?: undefined }>;
/** One row of `collect()`: the params, each stage's output, status and error. */
export type FlowRow<P, S> = OkRow<P, S> | FailedRow<P, S>;

/** The output type a stage declares with `output`. */
export type OutputOf<Z> = Z extends z.ZodType ? z.output<Z> : never;

export type { CommandOutput, FlowRowError };
