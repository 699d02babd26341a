/**
 * Input schemas shared by the tRPC procedures and the programmatic API, so a bad option gets the
 * same message whichever way it arrives.
 */
import { z } from 'zod';
import type { Encoded } from './codec.js';
import { getFnNameSchema, getFnVersionSchema, getMapOptionsSchema } from './option-schemas.js';

export { describeZodError } from './option-schemas.js';
export type { MapSchedulingOptions } from './option-schemas.js';

// Built with zod/mini where the client checks them (option-schemas.ts); the schemas here compose them.
/** Options of one map, as the caller gives them. */
export const mapOptionsSchema = getMapOptionsSchema();
/** A registered function's name: what `fl.functions.register(name, ...)` and `fnName` take. */
export const fnNameSchema = getFnNameSchema();
/** A registered function's version: its content hash, or an unambiguous prefix of 8 or more hex digits. */
export const fnVersionSchema = getFnVersionSchema();

const isEncoded = (v: unknown): v is Encoded =>
  typeof v === 'object' && v !== null && 'j' in v && (!('b' in v) || v.b === undefined || (Array.isArray(v.b) && v.b.every((b) => b instanceof Uint8Array)));

/** An encoded value: checked shallowly, since a job may carry millions. */
export const encodedSchema = z.custom<Encoded>(isEncoded, { message: 'not an encoded value ({ j, m?, b? })' });

const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest');

export const moduleRefSchema = z
  .object({
    artifact: hashSchema,
    export: z.string().min(1).max(1024),
    file: z.string().min(1).max(4096),
    target: z.string().regex(/^node\d+(\.\d+){0,2}$/, 'an esbuild node target such as node20'),
    builtOn: z.object({ node: z.string().max(64), platform: z.string().max(64) }),
    externals: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const fnSpecSchema = z
  .object({
    id: z.string().min(1).max(128),
    /** Empty when the function is a module export or a builtin. */
    src: z.string(),
    vals: z.record(z.string(), encodedSchema),
    fns: z.record(z.string(), z.string()),
    retryIf: z.string().min(1).optional(),
    module: moduleRefSchema.optional(),
    setup: z.object({ id: z.string().min(1).max(128), module: moduleRefSchema.optional(), src: z.string().min(1).optional() }).strict().optional(),
    builtin: z.enum(['flow-unit']).optional(),
    /** Artifacts of specs nested in `vals` (a flow unit's module stages). */
    artifacts: z.array(hashSchema).max(1000).optional(),
    setupTimeoutMs: z.number().int().min(1).max(2 ** 31 - 1).optional(),
    refs: z.record(z.string(), z.object({ module: z.string().min(1).max(4096), export: z.string().min(1).max(1024), from: z.string().max(4096).optional() }).strict()).optional(),
    origins: z.record(z.string(), z.object({ file: z.string().max(4096), line: z.number().int().min(1), column: z.number().int().min(0), lines: z.array(z.tuple([z.number().int().min(0), z.number().int().min(1)])).max(4096).optional() }).strict()).optional(),
  })
  .refine((f) => (f.src.length > 0 ? 1 : 0) + (f.module ? 1 : 0) + (f.builtin ? 1 : 0) === 1, {
    message: 'a function is exactly one of: source (src), a module export (module) or a builtin',
  })
  .refine((f) => !f.setup || (f.setup.module ? 1 : 0) + (f.setup.src ? 1 : 0) === 1, {
    message: 'a setup is exactly one of: a module export or source',
    path: ['setup'],
  });

/** Most arguments one submit or append call carries; larger jobs arrive in chunks. */
export const MAX_CHUNK = 65_536;

/**
 * Most tasks one job may have. A job keeps a few bytes of state per task from its submit on, and
 * a cancel records one result per task: bounded, so a declared count alone cannot exhaust memory.
 */
export const MAX_TOTAL = 4_194_304;

export const submitSchema = z.strictObject({
  ...mapOptionsSchema.shape,
  /** The function, shipped with the job; or, instead, `fnName` (+ `fnVersion`) of a registered one. */
  fn: fnSpecSchema.optional(),
  /** A registered function's name, resolved by the controller. @default its latest version */
  fnName: z.optional(fnNameSchema),
  fnVersion: z.optional(fnVersionSchema),
  /** The first arguments; the rest follow by `map.append` when `total` is larger. */
  args: z.array(encodedSchema).max(MAX_CHUNK),
  /** Tasks in the job. @default args.length */
  total: z.number().int().min(0).max(MAX_TOTAL, `at most ${MAX_TOTAL} tasks a job; split larger work into several jobs`).optional(),
}).refine((s) => (s.fn ? 1 : 0) + (s.fnName !== undefined ? 1 : 0) === 1 && (s.fnVersion === undefined || s.fnName !== undefined), {
  message: 'give exactly one of fn (a shipped function) or fnName (a registered function, with fnVersion optional)',
  path: ['fn'],
});

export const appendSchema = z.object({
  jobId: z.string().min(1),
  /** Index of the first of these arguments' tasks: where the previous call stopped. */
  offset: z.number().int().min(0),
  args: z.array(encodedSchema).min(1).max(MAX_CHUNK),
});

export type AppendInput = z.infer<typeof appendSchema>;

export type SubmitInput = z.infer<typeof submitSchema>;

export const jobIdSchema = z.object({ jobId: z.string().min(1) });

/** Input of `agents.everywhere`. */
export const everywhereSchema = z
  .object({
    fn: fnSpecSchema,
    /** Pool whose lanes run it. @default the controller's default pool */
    pool: z.string().min(1).optional(),
    /** Per-lane time limit in ms; 0 means none. @default 0 */
    timeoutMs: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict();
export type EverywhereInput = z.infer<typeof everywhereSchema>;

// Names and versions are checked by the registry with the shared schemas, so a bad one gets the
// same sentence however it arrives; here only their size is bounded.
const fnName = z.string().max(1024);
const fnVersion = z.string().max(128).optional();

/** Input of `functions.register`. */
export const registerSchema = z.object({ name: fnName, spec: fnSpecSchema });
/** Input of `functions.get` and `functions.remove`. */
export const functionRefSchema = z.object({ name: fnName, version: fnVersion });
