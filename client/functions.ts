/**
 * Functions registered by name (register once, invoke from any client of the controller):
 * `fl.functions.register/list/get/remove`, and the by-name forms of `fl.map` and `fl.call`.
 * A handle from `register` carries the types of the function it was registered from; a bare
 * name takes the function's type as a type parameter: `fl.call<typeof fit>('fit', rows)`.
 */
import type { TRPCClient } from '@trpc/client';
import { FlotillaError } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';
import type { TaskContext } from '../contract/task-context.js';
import type { FunctionDetails, FunctionInfo } from '../contract/function-types.js';
import type { AppRouter } from '../contract/api.js';
import { getFnVersionSchema } from '../contract/option-schemas.js';
import { checkName } from '../contract/function-name.js';
import { fromTRPCError } from './errors.js';
import { isModuleFunction } from './module/handle.js';
import type { ModuleFunction } from './module/handle.js';
import type { FunctionOptions } from './map-options.js';

export type { FunctionDetails, FunctionInfo };

/** Any function a map can run. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTaskFn = (item: any, ctx: TaskContext) => unknown;

/** The item type a task function takes. */
export type ArgOf<F extends AnyTaskFn> = Parameters<F>[0];

/** Type-level only: no value carries this key. */
declare const fnTypes: unique symbol;

/** A function registered on the controller, typed like the function it was registered from. */
export interface RegisteredFn<A, R> {
  readonly name: string;
  /** The content hash of what was registered: calls through this handle run exactly it. */
  readonly version: string;
  /** Carries the argument and result types; never present at run time. */
  readonly [fnTypes]?: (arg: A) => R;
}

/**
 * Options of `fl.functions.register`, as `map` takes them (globals, retryIf, setup): they are
 * fixed with the function and travel with every call by name.
 */
export type RegisterOptions = FunctionOptions;

/** Turns a function (inline or a module handle) into a spec the controller holds. */
export type Preparer = (fn: unknown, opts: RegisterOptions) => Promise<FnSpec>;

/** How a submit names a registered function. */
export interface NamedFn {
  fnName: string;
  fnVersion?: string;
}

/** `fl.functions`: the controller's registry of named functions. */
export class Functions {
  /** @internal created by Session */
  constructor(
    private readonly trpc: TRPCClient<AppRouter>,
    private readonly prepare: Preparer,
  ) {}

  /**
   * Registers `fn` (an inline function or a module function handle) under `name`; its globals,
   * setup and retryIf travel with it. Registering the same function again returns the same
   * version; a different one becomes the name's latest version, older ones stay callable by version.
   */
  register<F extends AnyTaskFn>(name: string, fn: F, opts?: RegisterOptions): Promise<RegisteredFn<ArgOf<F>, Awaited<ReturnType<F>>>>;
  /** Registers an export of a module file (`work.fit` of `moduleOf<typeof import('./work.js')>(url)`). */
  register<F extends AnyTaskFn>(name: string, fn: ModuleFunction<F>, opts?: RegisterOptions): Promise<RegisteredFn<ArgOf<F>, Awaited<ReturnType<F>>>>;
  async register(name: string, fn: unknown, opts: RegisterOptions = {}): Promise<RegisteredFn<unknown, unknown>> {
    checkName(name);
    const spec = await this.prepare(fn, opts);
    const { version } = await this.rpc(() => this.trpc.functions.register.mutate({ name, spec }));
    return Object.freeze({ name, version });
  }

  /** Every version of every registered function. */
  list(): Promise<FunctionInfo[]> {
    return this.rpc(() => this.trpc.functions.list.query());
  }

  /** One registered function (its latest version, or `version`) in full. */
  get(name: string, version?: string): Promise<FunctionDetails> {
    return this.rpc(() => this.trpc.functions.get.query({ name, version }));
  }

  /** Removes one version of a function, or every version. Jobs already running are not affected. */
  remove(name: string, version?: string): Promise<{ removed: string[] }> {
    return this.rpc(() => this.trpc.functions.remove.mutate({ name, version }));
  }

  /** A typed handle on a function registered elsewhere, by name (its latest version) or version. */
  ref<F extends AnyTaskFn>(name: string, version?: string): RegisteredFn<ArgOf<F>, Awaited<ReturnType<F>>> {
    const fn = { name, version: version ?? '' };
    toNamed(fn);
    return Object.freeze(fn);
  }

  private async rpc<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw fromTRPCError(err);
    }
  }
}

/**
 * Whether `map(a, b)` names a registered function (`map('fit', rows)`, `map(handle, rows)`)
 * rather than mapping items over a function (`map(rows, fn)`): only the latter passes a function
 * (inline or a module function).
 */
export function isByName(a: unknown, b: unknown): boolean {
  return typeof b !== 'function' && !isModuleFunction(b) && (typeof a === 'string' || isRegisteredFn(a));
}

function isRegisteredFn(v: unknown): v is RegisteredFn<unknown, unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' && typeof (v as { version?: unknown }).version === 'string';
}

/**
 * Names and handles already checked, with the fields they submit: `fl.call` of the same function
 * again skips the schema checks. Only frozen handles (those `register` and `ref` return) are kept,
 * since another object could change its name or version between calls.
 */
const checkedHandles = new WeakMap<object, NamedFn>();
const checkedNames = new Map<string, NamedFn>();
const MAX_CHECKED_NAMES = 1024;

/**
 * The submit fields naming `fn`; a handle pins its version. What `register` fixed cannot be
 * given again per map.
 * @throws FlotillaError BAD_INPUT for a bad name or version, or globals/retryIf given to a map by name
 */
export function toNamed(fn: unknown, opts: { globals?: unknown; retryIf?: unknown; setup?: unknown; setupTimeoutMs?: unknown } = {}): NamedFn {
  if (opts.globals !== undefined || opts.retryIf !== undefined || opts.setup !== undefined || opts.setupTimeoutMs !== undefined) {
    const fixed = (['globals', 'retryIf', 'setup', 'setupTimeoutMs'] as const).filter((k) => opts[k] !== undefined);
    // Silently dropping a setup would run tasks without what they expect in ctx.setup.
    throw new FlotillaError('BAD_INPUT', `map option(s) ${fixed.join(', ')} belong to the registration of a function (fl.functions.register), not to a map of "${isRegisteredFn(fn) ? fn.name : String(fn)}" by name`);
  }
  const hit = typeof fn === 'string' ? checkedNames.get(fn) : typeof fn === 'object' && fn !== null ? checkedHandles.get(fn) : undefined;
  if (hit) return hit;
  const name = typeof fn === 'string' ? fn : isRegisteredFn(fn) ? fn.name : undefined;
  checkName(name);
  const version = isRegisteredFn(fn) && fn.version !== '' ? fn.version : undefined;
  if (version !== undefined && !getFnVersionSchema().safeParse(version).success) {
    throw new FlotillaError('BAD_INPUT', `version ${JSON.stringify(version)} of function "${name}" is not valid: 8 to 64 lowercase hex digits of a registered version`);
  }
  const named: NamedFn = Object.freeze(version === undefined ? { fnName: name } : { fnName: name, fnVersion: version });
  if (typeof fn === 'string') {
    if (checkedNames.size >= MAX_CHECKED_NAMES) checkedNames.clear();
    checkedNames.set(fn, named);
  } else if (Object.isFrozen(fn)) checkedHandles.set(fn as object, named);
  return named;
}

/** Whether a prepared function is a reference to a registered one. */
export function isNamed(fn: unknown): fn is NamedFn {
  return typeof fn === 'object' && fn !== null && typeof (fn as NamedFn).fnName === 'string';
}
