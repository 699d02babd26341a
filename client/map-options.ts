/**
 * The options of a map, an attach, `everywhere` and a registered function: types only, so the
 * public declarations carry none of the code that checks them (map-input.ts does).
 */
import type { FlotillaError } from '../contract/errors.js';
import type { TaskContext } from '../contract/task-context.js';
import type { LaneWhere } from '../contract/agent-types.js';
import type { MapSchedulingOptions } from '../contract/schemas.js';
import type { ModuleFunction } from './module/handle.js';
import type { ProgressOption } from './progress/map-progress.js';

/** Options of one map. `S` is what its `setup` returns (the tasks' `ctx.setup`, awaited). */
export interface MapOptions<S = unknown> extends MapSchedulingOptions {
  /** Names the function uses from outside itself; they are shipped with it and in scope remotely. */
  globals?: Record<string, unknown>;
  /** Aborting cancels the job: queued tasks are dropped, running ones aborted on their agents. */
  signal?: AbortSignal;
  /**
   * Whether an error thrown by the function should be retried (up to `retries`). Runs on the
   * agent, in the function's scope (it may use its globals). @default no error is retried
   */
  retryIf?: (error: unknown) => boolean;
  /**
   * Runs once per agent slot before this function's first task there (loads data, warms a
   * model); its awaited value is the tasks' `ctx.setup`. A module function (`work.init`) or an
   * inline function (which may use `globals`). One that throws fails those tasks with SETUP_FAILED.
   */
  setup?: ModuleFunction<(...args: any[]) => S> | (() => S);
  /**
   * Time limit (ms) of a slot's preparation for this function: importing its module and running
   * its setup (`timeoutMs` does not cover it). Past it, the tasks that need it fail SETUP_FAILED
   * and the slot's thread is replaced. @default 600000 (10 minutes)
   */
  setupTimeoutMs?: number;
  /**
   * Shows the job's progress: `true` draws a bar on stderr when it is a terminal (done / total,
   * failed, rate, ETA) and nothing when it is not; a function gets the same figures as results
   * arrive (`{ done, failed, total, rate, etaMs, elapsedMs }`). @default false
   */
  progress?: ProgressOption;
}

/** Options of `attach`. */
export interface AttachOptions {
  /** Shows the job's progress, as the map option does. @default false */
  progress?: ProgressOption;
}

/** Options of `everywhere`. */
export interface EverywhereOptions {
  /** Pool whose connected slots run it. @default the controller's default pool */
  pool?: string;
  /** Names the (inline) function uses from outside itself. */
  globals?: Record<string, unknown>;
  /** Time limit per slot in ms; 0 means none. @default 0 */
  timeoutMs?: number;
}

/** One slot's outcome of `everywhere`: where it ran, and its value or error. */
export type LaneOutcome<R> = LaneWhere & ({ ok: true; value: R } | { ok: false; error: FlotillaError });

/** The function a map runs: gets one item and the task's context (`S`: its setup's value). */
export type TaskFn<T, R, S = unknown> = (item: T, ctx: TaskContext<S>) => R;

/** Options of a map of a registered function: its globals and retryIf were fixed when it was registered. */
export type NamedMapOptions = Omit<MapOptions, 'globals' | 'retryIf' | 'setup' | 'setupTimeoutMs'>;

/** What a function is shipped with. */
export interface FunctionOptions {
  /** Names inline code (the function, `retryIf`, an inline `setup`) uses from outside itself. */
  globals?: Record<string, unknown>;
  /** Whether an error thrown by the function should be retried; runs on the agent. */
  retryIf?: (error: unknown) => boolean;
  /**
   * Runs once per agent slot (lane) before the first task of this function there; its awaited
   * value is the tasks' `ctx.setup`. A module function (`work.init`) or an inline function.
   */
  setup?: ModuleFunction | (() => unknown);
  /**
   * Time limit (ms) of what a slot does before this function's first task there: importing its
   * module and running its setup. Past it those tasks fail SETUP_FAILED ("... did not finish
   * within ...") and the slot's thread is replaced. A map's `timeoutMs` does not cover it.
   * @default 600000 (10 minutes)
   */
  setupTimeoutMs?: number;
}
