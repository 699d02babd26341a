/**
 * One flow's state on the controller: every (row, stage) outcome, filled from the cache at
 * submit, from rows reported as they finish and from unit results as they arrive; per-stage
 * progress and the collected rows.
 */
import { decodeValue, encodeValue } from '../../contract/codec.js';
import type { Encoded } from '../../contract/codec.js';
import type { ErrorInfo } from '../../contract/errors.js';
import type { FlowRowResult, FlowUnitResult, StageOutcome } from '../../contract/flow-unit.js';
import type { TaskResult } from '../job.js';
import type { FlowRecord } from './db.js';
import type { FlowRowError, FlowStatus, StageProgress } from '../../contract/flow-types.js';
import { NO_CACHE } from './keys.js';
import { Waiters } from '../../contract/waiters.js';

/** Where a unit is: waiting for a slot, running, or finished. */
export type UnitState = 'queued' | 'running' | 'done';

export class FlowRun {
  readonly params: Record<string, unknown>[];
  /** The flow's record, without its encoded grid (the database has it; `params` is the grid here). */
  readonly record: Omit<FlowRecord, 'grid'>;
  /** outcomes[row][stage], stages in record order (dependency order). */
  readonly outcomes: (StageOutcome | undefined)[][];
  /** Unit of each row, -1 for rows not sent. */
  private readonly unitOf: Int32Array;
  cancelled = false;
  interrupted = false;
  finishedAt: number | undefined;
  /** Where each unit is; set by the manager while the units job lives. */
  unitState: (unit: number) => UnitState = () => 'done';
  private readonly waiters = new Waiters();
  private readonly finishWaiters = new Waiters();

  /** @param params the grid's rows when the caller has them decoded already; else decoded from the record. */
  constructor(record: FlowRecord, params?: Record<string, unknown>[]) {
    const { grid, ...rest } = record;
    this.record = rest;
    this.params = params ?? (decodeValue(grid) as Record<string, unknown>[]);
    this.outcomes = this.params.map(() => new Array(record.stages.length).fill(undefined));
    this.unitOf = new Int32Array(this.params.length).fill(-1);
    record.units.forEach((rows, u) => rows.forEach((r) => (this.unitOf[r] = u)));
    this.finishedAt = record.finishedAt;
    this.cancelled = record.state === 'cancelled';
  }

  get finished(): boolean {
    return this.finishedAt !== undefined;
  }

  /** Marks a stage of a row as taken from the cache. */
  setCached(row: number, stage: number, value: unknown): void {
    this.outcomes[row]![stage] = { ok: true, value, ms: 0, cached: true };
  }

  /**
   * Applies unit results; returns the stage outputs to cache (newly computed ones only) as
   * [key, encoded value] pairs.
   */
  apply(results: readonly TaskResult[]): [string, Encoded][] {
    const toCache: [string, Encoded][] = [];
    for (const r of results) {
      const rows = this.record.units[r.index] ?? [];
      if (!r.ok) {
        for (const row of rows) this.failRest(row, r.error, `unit ${r.index}`);
        continue;
      }
      let value: FlowUnitResult;
      try {
        value = decodeValue(r.value) as FlowUnitResult;
      } catch (err) {
        for (const row of rows) this.failRest(row, { code: 'INTERNAL', message: `its result could not be decoded: ${(err as Error).message}` }, `unit ${r.index}`);
        continue;
      }
      for (const rr of Array.isArray(value) ? value : []) this.applyRow(r.index, rr, toCache);
      for (const row of rows) this.failRest(row, { code: 'INTERNAL', message: 'the agent returned no outcome for it' }, `unit ${r.index}`);
    }
    this.waiters.wake();
    return toCache;
  }

  /**
   * Applies one row a running unit reported as finished (its agent's `ctx.emit`), ahead of the
   * unit's result; returns its outputs to cache. A row not of that unit, or malformed, is ignored.
   */
  applyPartial(unit: number, value: Encoded): [string, Encoded][] {
    const toCache: [string, Encoded][] = [];
    let rr: FlowRowResult;
    try {
      rr = decodeValue(value) as FlowRowResult;
    } catch {
      return toCache; // the unit's result will carry the row
    }
    if (this.applyRow(unit, rr, toCache)) this.waiters.wake();
    return toCache;
  }

  /**
   * Takes a row's stage outcomes; true if anything changed. Idempotent: a row comes twice (as a
   * partial, then in its unit's result, or again from a re-run), and an outcome already a
   * success is kept, so its output is cached once.
   */
  private applyRow(unit: number, rr: FlowRowResult, toCache: [string, Encoded][]): boolean {
    const { stages, keys } = this.record;
    if (rr === null || typeof rr !== 'object' || !Number.isInteger(rr.row) || this.unitOf[rr.row] !== unit) return false;
    const outs = this.outcomes[rr.row]!;
    let changed = false;
    stages.forEach((s, i) => {
      const o = rr.stages?.[s.name];
      if (!o || outs[i]?.ok) return; // what we sent as done comes back as it went
      outs[i] = o;
      changed = true;
      if (o.ok && !o.cached && keys[rr.row]![i] !== NO_CACHE) {
        try {
          toCache.push([keys[rr.row]![i]!, encodeValue(o.value, `stage "${s.name}" output`)]);
        } catch {
          // A value that decoded but cannot be re-encoded is not cached; the row still has it.
        }
      }
    });
    return changed;
  }

  /**
   * Gives every stage of `row` that has no outcome the error; with `what` (the unit, say) the
   * first such stage's message names the row and stage, since a unit's error names neither.
   */
  failRest(row: number, error: ErrorInfo, what?: string): void {
    const outs = this.outcomes[row]!;
    const first = outs.findIndex((o) => !o);
    if (first < 0) return;
    const stage = this.record.stages[first]!.name;
    const named: ErrorInfo = what ? { ...error, message: `row ${row}, stage "${stage}" (${what}): ${error.message}`, context: { ...error.context, row, stage } } : error;
    for (let i = first; i < outs.length; i++) if (!outs[i]) outs[i] = { ok: false, error: i === first ? named : { code: 'SKIPPED', message: `not run: stage "${stage}" did not finish (${named.code})` }, ms: 0 };
  }

  /** The flow finished: every unit recorded, or it was cancelled or interrupted. */
  finish(at = Date.now()): void {
    if (this.finishedAt === undefined) this.finishedAt = at;
    this.waiters.wake();
    this.finishWaiters.wake();
  }

  /** Resolves when the flow finishes (at once if it has). */
  whenFinished(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return this.finishWaiters.wait();
  }

  /** Resolves when something changes (or at once when finished). */
  changed(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return this.waiters.wait();
  }

  /** How one row ended (or `undefined` while it has stages to go). */
  rowStatus(row: number): { status: 'ok' | 'failed' | 'skipped'; error?: FlowRowError } | undefined {
    const outs = this.outcomes[row]!;
    let firstErr: FlowRowError | undefined;
    let pending = false;
    outs.forEach((o, i) => {
      if (!o) pending = true;
      else if (!o.ok && !firstErr && o.error.code !== 'SKIPPED') firstErr = { stage: this.record.stages[i]!.name, ...o.error };
    });
    if (pending) return undefined;
    if (firstErr) return firstErr.code === 'CANCELLED' ? { status: 'skipped', error: firstErr } : { status: 'failed', error: firstErr };
    if (outs.every((o) => o!.ok)) return { status: 'ok' };
    const skip = outs.findIndex((o) => !o!.ok);
    const o = outs[skip] as { ok: false; error: ErrorInfo };
    return { status: 'skipped', error: { stage: this.record.stages[skip]!.name, ...o.error } };
  }

  /** The collected row: params, each stage's output, status, error; `cached: true` when nothing of it ran. */
  row(row: number): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.params[row] };
    const outs = this.outcomes[row]!;
    this.record.stages.forEach((s, i) => {
      const o = outs[i];
      if (o?.ok) out[s.name] = o.value;
    });
    const st = this.rowStatus(row);
    out.status = st?.status ?? 'skipped';
    if (st?.error) out.error = st.error;
    if (outs.every((o) => o?.ok && o.cached)) out.cached = true;
    return out;
  }

  status(): FlowStatus {
    const { record } = this;
    const stages: StageProgress[] = record.stages.map((s) => ({ name: s.name, done: 0, cached: 0, running: 0, queued: 0, failed: 0, skipped: 0 }));
    let rowsFinished = 0;
    let rowsFailed = 0;
    const unitStates = record.units.map((_, u) => this.unitState(u));
    this.outcomes.forEach((outs, row) => {
      const u = this.unitOf[row]!;
      outs.forEach((o, i) => {
        const p = stages[i]!;
        if (o?.ok) {
          p.done++;
          if (o.cached) p.cached++;
        } else if (o) {
          if (o.error.code === 'SKIPPED' || o.error.code === 'CANCELLED') p.skipped++;
          else p.failed++;
        } else if (u >= 0 && unitStates[u] === 'running') p.running++;
        else p.queued++;
      });
      const st = this.rowStatus(row);
      if (st) rowsFinished++;
      if (st?.status === 'failed') rowsFailed++;
    });
    const state = this.cancelled ? 'cancelled' : this.interrupted ? 'interrupted' : this.finished ? 'done' : 'running';
    return {
      id: record.id,
      name: record.name,
      state,
      jobId: record.jobId,
      rows: this.params.length,
      rowsFinished,
      rowsFailed,
      createdAt: record.createdAt,
      finishedAt: this.finishedAt,
      plan: { units: record.units.length, rowsPerUnit: record.units.map((u) => u.length), cachedRows: this.unitOf.filter((u) => u < 0).length, pool: record.pool },
      stages,
    };
  }
}
