/**
 * The functions defined on one lane, by connection ref, with what they need before a task can
 * start: a module import (async) and a setup. Inline functions are ready at once.
 */
import { materializeSpec } from './materialize.js';
import type { Materialized } from './materialize.js';
import { FlotillaError } from '../contract/errors.js';
import type { ErrorContext } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';
import type { ArtifactCache } from './artifacts.js';
import { loadModuleExport } from './module-fn.js';
import { importRefs } from './refs.js';
import { DEFAULT_SETUP_TIMEOUT_MS, prepTimedOut, Setups } from './setups.js';

/**
 * A function defined on this lane. Module functions load asynchronously: until `loading` settles
 * the tasks queued behind one wait, so order is kept and no task starts before its function.
 */
export interface FnEntry {
  m: Materialized;
  loading?: Promise<void>;
  /** The setup this function's tasks need first. */
  setupId?: string;
  /** Time limit of the import and of the setup (ms). */
  limitMs: number;
}

export class FnTable {
  private readonly fns = new Map<number, FnEntry>();
  /** Setup values of this lane, by setup id. */
  readonly setups = new Setups();

  constructor(
    /** The artifact cache; `need` asks the controller for one a sibling lane has not written. */
    readonly artifacts: ArtifactCache,
    private readonly where: ErrorContext,
  ) {}

  get(ref: number): FnEntry | undefined {
    return this.fns.get(ref);
  }

  delete(ref: number): void {
    this.fns.delete(ref);
  }

  /** Forgets every function (the connection is gone); setups and the disk cache stay. */
  clear(): void {
    this.fns.clear();
  }

  /**
   * Builds a function: inline ones at once; module ones (and module setups) in the background,
   * their tasks held at the head of the queue until the import settles.
   */
  define(ref: number, spec: FnSpec): void {
    const failing = (err: unknown): Materialized => ({
      fn: () => {
        throw err;
      },
    });
    const limitMs = spec.setupTimeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS;
    // Globals by reference are imported first; the function is built once they are here.
    const refs = spec.refs && Object.keys(spec.refs).length > 0 ? spec.refs : undefined;
    let entry: FnEntry;
    try {
      entry = { m: refs ? failing(new FlotillaError('INTERNAL', 'function used before its imports were loaded')) : materializeSpec(spec), setupId: spec.setup?.id, limitMs };
    } catch (err) {
      // Tasks of this function will fail with the reason, one by one.
      this.fns.set(ref, { m: failing(err), limitMs });
      return;
    }
    this.fns.set(ref, entry);
    const setupRef = spec.setup?.module;
    if (!spec.module && !setupRef && !refs) return;
    const load = (async () => {
      if (refs) entry.m = materializeSpec(spec, await importRefs(refs));
      const fn = spec.module ? await loadModuleExport(spec.module, this.artifacts, this.where) : entry.m.fn;
      const setup = setupRef ? await loadModuleExport(setupRef, this.artifacts, this.where) : entry.m.setup;
      entry.m = { ...entry.m, fn, setup };
    })();
    // A module whose top-level code awaits forever must not hold the lane's queue forever.
    let timer: NodeJS.Timeout | undefined;
    const mod = spec.module ?? setupRef;
    const what = mod ? `module ${mod.file}` : `importing ${Object.values(refs!).map((r) => r.module).join(', ')}`;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(prepTimedOut(what, 'load', limitMs)), limitMs);
      timer.unref();
    });
    entry.loading = Promise.race([load, limit]).finally(() => clearTimeout(timer)).then(
      () => {
        entry.loading = undefined;
      },
      (err) => {
        entry.m = failing(err);
        entry.setupId = undefined;
        entry.loading = undefined;
      },
    );
  }

  /**
   * What the head task waits for before it can start: its function's import or its setup.
   * `arm` is called with the time limit before anything that may run user code starts, so the
   * supervisor can replace a lane whose setup blocks its thread (no timer runs there then).
   */
  blocker(ref: number, arm: (limitMs: number) => void): Promise<unknown> | undefined {
    const entry = this.fns.get(ref);
    if (!entry) return undefined;
    if (entry.loading) {
      arm(entry.limitMs);
      return entry.loading;
    }
    if (entry.setupId === undefined || !entry.m.setup) return undefined;
    const known = this.setups.peek(entry.setupId);
    if (known && !known.pending) return undefined; // the hot path: settled, nothing to arm
    const setup = entry.m.setup;
    arm(entry.limitMs);
    return this.setups.state(entry.setupId, () => setup(), entry.limitMs).pending;
  }
}
