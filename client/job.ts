/**
 * The handle `map()` returns: awaitable (all values in input order) and async-iterable (each
 * outcome as it finishes). Both views read one buffer filled by the controller's result stream,
 * so they can be used together, and an iterator started late still sees every outcome.
 */
import { FlotillaError } from '../contract/errors.js';
import type { TaskOutcome } from './outcome.js';
import type { ProgressSink } from './progress/map-progress.js';
import { locateError } from './call-site.js';
import { Waiters } from '../contract/waiters.js';
import type { CallSite } from './call-site.js';

export type { TaskOutcome } from './outcome.js';

export class MapJob<R> implements Promise<R[]>, AsyncIterable<TaskOutcome<R>> {
  readonly [Symbol.toStringTag] = 'MapJob';
  /** Outcomes in arrival order. */
  private arrived: TaskOutcome<R>[] = [];
  private byIndex: (TaskOutcome<R> | undefined)[] = [];
  private total: number | undefined;
  private failure: FlotillaError | undefined;
  /** Wakes the async iterators; made when the first one waits. */
  private waiters: Waiters | undefined;
  private readonly settled: Promise<R[]>;
  private resolveSettled!: (v: R[]) => void;
  private rejectSettled!: (err: unknown) => void;
  /** The outcome is decided (the last figures may still be on their way to the screen). */
  private over = false;
  /** Someone reads `settled`: a rejection needs no guard against going unhandled. */
  private observed = false;
  private jobId: string | undefined;
  /** Waiters for the id, made when asked before the job was submitted. */
  private idWait: { promise: Promise<string>; resolve(id: string): void; reject(err: FlotillaError): void } | undefined;
  /** Where the `progress` option's figures go, if anywhere. */
  private progress: ProgressSink | undefined;

  /** @internal created by Session.map */
  constructor(
    private readonly canceller: (jobId: string) => Promise<void>,
    /** Where app code started the job: the errors it rejects with point there. */
    private readonly site?: CallSite,
  ) {
    // One promise per job and nothing else until someone waits: a map of one task is cheap.
    this.settled = new Promise<R[]>((resolve, reject) => {
      this.resolveSettled = resolve;
      this.rejectSettled = reject;
    });
  }

  /** Settles the job's promise once every outcome is in or it failed. */
  private check(): void {
    if (this.over) return;
    if (this.failure === undefined && (this.total === undefined || this.arrived.length < this.total)) return;
    this.over = true;
    // The last figures are shown before the caller goes on.
    if (this.progress) void this.progress.stop().then(() => this.settle());
    else this.settle();
  }

  private settle(): void {
    let err: unknown;
    if (this.failure) err = locateError(this.failure, this.site);
    else {
      try {
        return this.resolveSettled(this.collect());
      } catch (e) {
        err = locateError(e as Error, this.site);
      }
    }
    if (!this.observed) this.settled.catch(() => {}); // unhandled only if nobody awaits; the iterator reports it too
    this.rejectSettled(err);
  }

  /** The controller's id for this job, once submitted. */
  get id(): Promise<string> {
    if (this.jobId !== undefined) return Promise.resolve(this.jobId);
    if (!this.idWait) {
      let resolve!: (id: string) => void, reject!: (err: FlotillaError) => void;
      const promise = new Promise<string>((ok, fail) => ((resolve = ok), (reject = fail)));
      promise.catch(() => {});
      this.idWait = { promise, resolve, reject };
      if (this.failure) reject(this.failure); // never submitted: no id will come
    }
    return this.idWait.promise;
  }

  /** @internal shows this job's progress (the `progress` option) from when it starts. */
  showProgress(sink: ProgressSink | undefined): void {
    this.progress = sink;
  }

  /** @internal */
  started(jobId: string, total: number): void {
    this.jobId = jobId;
    this.total = total;
    this.progress?.start(total);
    this.byIndex = new Array(total);
    this.idWait?.resolve(jobId);
    this.wake();
  }

  /** @internal Takes `outcomes` (the list may become the job's own: the caller keeps none). */
  push(outcomes: TaskOutcome<R>[]): void {
    let n = 0;
    let failed = 0;
    // A first outcome alone (a single-task map's): its list becomes the arrivals, rather than a
    // push's room for seventeen made per job.
    const adopt = outcomes.length === 1 && this.arrived.length === 0 && !this.byIndex[outcomes[0]!.index];
    for (const o of outcomes) {
      if (this.byIndex[o.index]) continue; // a resumed stream may repeat what we have
      this.byIndex[o.index] = o;
      if (!adopt) this.arrived.push(o);
      n++;
      if (!o.ok) failed++;
    }
    if (adopt) this.arrived = outcomes;
    this.progress?.add(n, failed);
    this.wake();
  }

  /** @internal the job cannot go on: submit failed, the stream broke, or it was aborted. */
  fail(err: FlotillaError): void {
    this.failure ??= err;
    if (this.jobId === undefined) this.idWait?.reject(err); // never submitted: no id will come
    this.wake();
  }

  private wake(): void {
    this.check();
    this.waiters?.wake();
  }

  /** The values in input order (one pass: most jobs have no failure), or the first failure thrown. */
  private collect(): R[] {
    const values: R[] = new Array(this.byIndex.length);
    let ok = true;
    for (let i = 0; i < this.byIndex.length; i++) {
      const o = this.byIndex[i];
      if (o && !o.ok) ok = false;
      else values[i] = (o as { value: R } | undefined)?.value as R;
    }
    if (ok) return values;
    const failed = this.byIndex.filter((o): o is Extract<TaskOutcome<R>, { ok: false }> => !!o && !o.ok);
    const first = failed[0]!;
    throw Object.assign(
      new FlotillaError(first.error.code, `${failed.length} of ${this.total} task(s) failed; first, task ${first.index}: ${first.error.message}`, {
        cause: first.error,
        context: { ...first.error.context, jobId: this.jobId, taskIndex: first.index },
      }),
      { outcomes: this.byIndex as TaskOutcome<R>[] },
    );
  }

  then<A = R[], B = never>(onok?: ((v: R[]) => A | PromiseLike<A>) | null, onerr?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    this.observed = true;
    return this.settled.then(onok, onerr);
  }

  catch<B = never>(onerr?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<R[] | B> {
    this.observed = true;
    return this.settled.catch(onerr);
  }

  finally(onfinally?: (() => void) | null): Promise<R[]> {
    this.observed = true;
    return this.settled.finally(onfinally);
  }

  /** Every outcome in input order, failures included; never rejects for a task's failure. */
  async outcomes(): Promise<TaskOutcome<R>[]> {
    const all: TaskOutcome<R>[] = [];
    for await (const o of this) all[o.index] = o;
    return all;
  }

  /** Cancels the job: queued tasks are dropped, running ones aborted on their agents. */
  async cancel(): Promise<void> {
    if (this.jobId === undefined && this.failure) return; // never submitted
    await this.canceller(await this.id);
  }

  /**
   * Outcomes as they finish. Leaving the loop early (`break`, `return`, a throw) stops reading,
   * not the job: its other tasks still run, `await job` still gives every value, and another
   * loop still sees every outcome. Call `cancel()` to stop the job.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<TaskOutcome<R>> {
    let cursor = 0;
    for (;;) {
      while (cursor < this.arrived.length) yield this.arrived[cursor++]!;
      if (this.failure) throw locateError(this.failure, this.site);
      if (this.total !== undefined && cursor >= this.total) return;
      await (this.waiters ??= new Waiters()).wait();
    }
  }
}
