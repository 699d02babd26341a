/**
 * What a launcher kind registers: its option schema, its defaults, how it plans a pool and how
 * it creates its launcher. The pool and the controller know kinds only through this; adding a
 * kind is a folder under launchers/ and a line in registry.ts and schemas.ts.
 */
import type { z } from 'zod';
import type { Launcher } from './launcher.js';
import type { SlotOffer } from '../pool-options.js';

/** The part of a plan a kind decides. */
export interface KindPlan {
  min: number;
  max: number;
  slots: number | undefined;
  slot: SlotOffer;
  walltimeMs: number | undefined;
  maxLaunching: number;
}

/** What planning a pool of a kind is given. */
export interface PlanInput<O> {
  options: O;
  /** `pools.<name>.<key>`, for messages. */
  at(key: string): string;
  /** The pool's `walltime`, in ms (undefined: not given or false). */
  walltimeMs: number | undefined;
}

/** What creating a launcher is given. */
export interface LauncherContext {
  /** The controller runs inside the app's process (its local agents must not keep it alive). */
  embedded: boolean;
  /** The controller's TCP agent endpoint. */
  agentUrl: string;
  log(line: string): void;
  /** Where agents' stderr lines go, for launchers that read them. */
  onAgentLog(agentId: string, line: string): void;
}

/** One launcher kind. `O` is its pool options (with `launcher` its word). */
export interface LauncherKind<O extends { launcher: string }> {
  /** Its `launcher` word. */
  readonly launcher: O['launcher'];
  /** Its options' keys and types (strict: a misspelt key is an error naming the nearest). */
  readonly schema: z.ZodType<unknown>;
  /** Its agents run on this machine and dial the controller's local socket. */
  readonly local: boolean;
  /** Defaults that differ between kinds. */
  readonly defaults: {
    /** `connectTimeout` when not given (ms); undefined: no limit (a batch job waits in a queue). */
    connectTimeoutMs: number | undefined;
  };
  /** Checks the kind's own values (throws BAD_INPUT naming the option) and decides its part of the plan. */
  plan(input: PlanInput<O>): KindPlan;
  /** Its launcher for a planned pool. */
  create(pool: string, options: O, ctx: LauncherContext): Launcher;
}

/** Declares a kind (typed by its options). */
export function defineLauncher<O extends { launcher: string }>(kind: LauncherKind<O>): LauncherKind<O> {
  return kind;
}

/** The options type a kind was declared with. */
export type OptionsOf<K> = K extends LauncherKind<infer O> ? O : never;
