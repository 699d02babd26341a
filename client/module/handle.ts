/**
 * Module functions as values app code passes to `map`: `{ module, export }` objects, or typed
 * handles from `moduleOf<typeof import('./work.js')>(url)` whose properties carry each export's
 * type, so `fl.map(rows, work.fit)` checks rows against `fit`'s first parameter and infers its
 * result type.
 */
import type { TaskContext } from '../../contract/task-context.js';
import type { ModuleBuildOptions } from './build.js';

/** Type-level only: no value carries this key. */
declare const fnType: unique symbol;

/** An export of a module file, run on agents from the bundled artifact. */
export interface ModuleFunction<F = (...args: any[]) => any> extends ModuleBuildOptions {
  /** The module's file: a file URL (e.g. `new URL('./work.ts', import.meta.url)`) or a path. */
  readonly module: string | URL;
  /** The export to run. */
  readonly export: string;
  /** Carries the export's type; never present at run time. */
  readonly [fnType]?: F;
}

/** The function type a module function stands for. */
export type ModuleFnType<M> = M extends ModuleFunction<infer F> ? F : never;

/** A typed handle on a module: one `ModuleFunction` per function export. */
export type ModuleHandle<M> = {
  readonly [K in keyof M as M[K] extends (...args: any[]) => any ? K : never]-?: ModuleFunction<M[K]>;
};

/** A module function whose export takes (item, ctx): what `map` runs. */
export type ModuleTaskFn<T, R> = ModuleFunction<(item: T, ctx: TaskContext) => R>;

/** Whether a value is a module function (`{ module, export }`). */
export function isModuleFunction(v: unknown): v is ModuleFunction {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (typeof o.module === 'string' || o.module instanceof URL) && typeof o.export === 'string';
}

/**
 * A typed handle on a module file: `moduleOf<typeof import('./work.js')>(new URL('./work.ts',
 * import.meta.url)).fit` is the module function of export `fit`. Nothing is read or built until
 * a map uses it; a missing export is reported then, naming the exports the file has.
 */
export function moduleOf<M>(url: string | URL, opts: ModuleBuildOptions = {}): ModuleHandle<M> {
  const made = new Map<string, ModuleFunction>();
  return new Proxy({} as ModuleHandle<M>, {
    get(_target, prop) {
      // Not a thenable, not inspectable as anything but a handle.
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let f = made.get(prop);
      if (!f) made.set(prop, (f = Object.freeze({ module: url, export: prop, ...opts })));
      return f;
    },
  });
}

/** The module function of one export, typed by the caller: `moduleFn<typeof fit>(url, 'fit')`. */
export function moduleFn<F extends (...args: any[]) => any>(url: string | URL, name: string, opts: ModuleBuildOptions = {}): ModuleFunction<F> {
  return Object.freeze({ module: url, export: name, ...opts });
}
