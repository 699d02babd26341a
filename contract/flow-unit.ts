/**
 * The contract between a flow's controller side and the agent's `flow-unit` builtin. A flow unit
 * is one task: a few grid rows, each taken through the flow's stages on one agent. The unit's
 * function spec is `{ builtin: 'flow-unit', vals: { def: encodeValue(FlowUnitDef) } }`, its
 * argument a `FlowUnitInput`, its value a `FlowUnitResult`.
 */
import type { ErrorInfo } from './errors.js';
import type { FnSpec } from './fnspec.js';

/** How the rows of one unit run on its agent. */
export type Within = 'inline' | 'threads' | 'process';

/** One stage of a flow, as the agent runs it. Exactly one of `fn` and `cmd` is set. */
export interface FlowStageDef {
  name: string;
  /** Stages whose outputs this one reads; they run first, and their failure skips this one. */
  needs: string[];
  /** A function stage: called as fn(input, ctx), input = the row's params plus `{ [need]: output }`. */
  fn?: FnSpec;
  /**
   * A command stage: argv template. `{col}` is replaced by the row's param `col`, `{stage.key}`
   * by a key of a needed stage's output. Its output is `CommandOutput`.
   */
  cmd?: string[];
  /** Working folder of a command stage. @default the agent's */
  cwd?: string;
  /** Extra environment of a command stage. */
  env?: Record<string, string>;
  /** Per-row time limit of this stage in ms; 0: none. */
  timeoutMs?: number;
  /** false: the controller neither reads this stage's outputs from the flow cache nor stores them (nor those of stages after it). */
  cache?: boolean;
  /** JSON Schema (the subset z.toJSONSchema emits) the stage's output must satisfy. */
  output?: unknown;
}

/** The unit's function: the flow's stages in dependency order and how rows run within a unit. */
export interface FlowUnitDef {
  stages: FlowStageDef[];
  within: Within;
  /** How many rows (threads: threads; process: child processes) run at once in a unit. */
  workersWithin: number;
}

/** One row of a unit. */
export interface FlowUnitRow {
  /** Index of the row in the flow's grid. */
  row: number;
  /** Index of the row's group (by `distribute({ by })`) in the flow's plan. */
  group: number;
  params: Record<string, unknown>;
  /** Outputs of stages that finished in an earlier run with the same inputs: not run again. */
  done?: Record<string, unknown>;
}

/** A unit task's argument. */
export interface FlowUnitInput {
  rows: FlowUnitRow[];
}

/** What a command stage returns: its exit and the tails of its output. */
export interface CommandOutput {
  exitCode: number;
  durationMs: number;
  /** The last 8 KiB of stdout. */
  stdout: string;
  /** The last 8 KiB of stderr. */
  stderr: string;
}

/** How one stage of one row ended. A skipped stage has error code SKIPPED naming the failed need. */
export type StageOutcome =
  | { ok: true; value: unknown; ms: number; cached?: true }
  | { ok: false; error: ErrorInfo; ms: number };

/** One row's outcome in a unit's result. */
export interface FlowRowResult {
  row: number;
  stages: Record<string, StageOutcome>;
}

/** A unit task's value: one entry per input row, in input order. */
export type FlowUnitResult = FlowRowResult[];
