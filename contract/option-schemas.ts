/**
 * The schemas the client checks options with as they are given (a map's options, a flow's
 * `distribute`, a registered function's name and version), built with `zod/mini`: the library's
 * import loads these and zod's core, not the whole of zod (its method-per-schema classes),
 * which only the controller's code needs. Each is built on first use, not at import: a map
 * without options, the common case, needs none. The server's schemas (schemas.ts,
 * flow-schemas.ts) are built from these, so a bad option reads the same whichever side checks it.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { $ZodError } from 'zod/v4/core';

// The full zod sets English messages when it loads; zod/mini leaves "Invalid input" unless told.
z.config(en());

const optional = z.optional;

/** A value built on first use. */
export function lazy<T>(build: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= build());
}

/** An integer within [min, max] (max: none when undefined). */
function intIn(min: number, max?: number) {
  return max === undefined ? z.number().check(z.int(), z.minimum(min)) : z.number().check(z.int(), z.minimum(min), z.maximum(max));
}

/** Names a flow uses itself in a collected row: no stage or column may take them. */
export const RESERVED_NAMES: readonly string[] = ['status', 'error', 'cached'];

/** The scheduling options of a map (those the controller takes, checked by `getMapOptionsSchema`). */
export const MAP_SCHEDULING_KEYS = ['pool', 'retries', 'crashLimit', 'timeoutMs', 'requires'] as const;

/** Options of one map, as the caller gives them. */
export const getMapOptionsSchema = lazy(() =>
  z.strictObject({
    /** Pool to run on. @default the controller's default pool */
    pool: optional(z.string().check(z.minLength(1))),
    /** Re-runs of a task whose agent was lost, or whose error `retryIf` accepts. @default 2 */
    retries: optional(intIn(0, 1000)),
    /** A task that was running on this many agents that died is failed as POISONOUS. @default 3 */
    crashLimit: optional(intIn(1, 255)),
    /** Per-task time limit in ms; 0 means none. @default 0 */
    timeoutMs: optional(intIn(0, 2 ** 31 - 1)),
    /** What each task needs from its slot; picks the first pool that offers it all. */
    requires: optional(
      z.strictObject({
        cores: optional(z.number().check(z.int(), z.positive())),
        memoryMb: optional(z.number().check(z.positive())),
        gpus: optional(z.number().check(z.minimum(0))),
        labels: optional(z.array(z.string().check(z.minLength(1)))),
      }),
    ),
  } satisfies Record<(typeof MAP_SCHEDULING_KEYS)[number], unknown>),
);

/** How a flow's rows are grouped into units and where the units run. */
export const getDistributeSchema = lazy(() => {
  const map = getMapOptionsSchema().shape;
  return z.strictObject({
    /** Columns whose equal values put rows in one group. @default every row its own group */
    by: optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
    /** Most rows per unit. @default with `by`: the whole group; without: 1 */
    chunksPerJob: optional(intIn(1)),
    /** Pack units into exactly this many (fewer when there are fewer units), balanced by rows. */
    targetJobs: optional(intIn(1)),
    /** Rows of one unit that run at once. @default 1 */
    workersWithin: optional(intIn(1, 1024)),
    /** How rows run within a unit. @default 'inline' */
    within: optional(z.enum(['inline', 'threads', 'process'])),
    pool: map.pool,
    /** What one unit needs from its slot. @default { cores: workersWithin } */
    requires: map.requires,
    /** Re-runs of a unit whose agent was lost. @default 2 */
    retries: map.retries,
    /** Time limit of one unit in ms; 0: none. @default 0 */
    timeoutMs: map.timeoutMs,
  });
});

/** A registered function's name: what `fl.functions.register(name, ...)` and `fnName` take. */
export const getFnNameSchema = lazy(() => z.string().check(z.regex(/^[A-Za-z_][\w.-]{0,127}$/, 'must start with a letter or _ and go on with at most 127 letters, digits, _, . or -')));

/** A registered function's version: its content hash, or an unambiguous prefix of 8 or more hex digits. */
export const getFnVersionSchema = lazy(() => z.string().check(z.regex(/^[0-9a-f]{8,64}$/, 'a version: the 64 hex digits of a registered spec id, or 8 or more of its first ones')));

export type MapSchedulingOptions = z.infer<ReturnType<typeof getMapOptionsSchema>>;
export type DistributeInput = z.infer<ReturnType<typeof getDistributeSchema>>;

/** Formats a zod error as one line naming each bad option and what was wrong with it. */
export function describeZodError(err: $ZodError, what: string): string {
  return `${what}: ` + err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(value)'}: ${i.message}`).join('; ');
}
