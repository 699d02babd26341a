/**
 * The functions defined on one lane, by connection ref, with what they need before a task can
 * start: a module import (async) and a setup. Inline functions are ready at once.
 */
import { materializeSpec } from './materialize.js';
import type { Materialized } from './materialize.js';
import type { ErrorContext } from './protocol/errors.js';
import type { FnSpec } from './protocol/fnspec.js';
import type { ArtifactCache } from './artifacts.js';
import { loadModuleExport } from './module-fn.js';
import { Setups } from './setups.js';

/**
 * A function defined on this lane. Module functions load asynchronously: until `loading` settles
 * the tasks queued behind one wait, so order is kept and no task starts before its function.
 */
export interface FnEntry {
  m: Materialized;
  loading?: Promise<void>;
  /** The setup this function's tasks need first. */
  setupId?: string;
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
    let entry: FnEntry;
    try {
      entry = { m: materializeSpec(spec), setupId: spec.setup?.id };
    } catch (err) {
      // Tasks of this function will fail with the reason, one by one.
      this.fns.set(ref, { m: failing(err) });
      return;
    }
    this.fns.set(ref, entry);
    const setupRef = spec.setup?.module;
    if (!spec.module && !setupRef) return;
    entry.loading = (async () => {
      const fn = spec.module ? await loadModuleExport(spec.module, this.artifacts, this.where) : entry.m.fn;
      const setup = setupRef ? await loadModuleExport(setupRef, this.artifacts, this.where) : entry.m.setup;
      entry.m = { ...entry.m, fn, setup };
    })().then(
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

  /** What the head task waits for before it can start: its function's import or its setup. */
  blocker(ref: number): Promise<unknown> | undefined {
    const entry = this.fns.get(ref);
    if (!entry) return undefined;
    if (entry.loading) return entry.loading;
    if (entry.setupId === undefined || !entry.m.setup) return undefined;
    const setup = entry.m.setup;
    return this.setups.state(entry.setupId, () => setup()).pending;
  }
}
