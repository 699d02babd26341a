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
  private readonly arrived: TaskOutcome<R>[] = [];
  private byIndex: (TaskOutcome<R> | undefined)[] = [];
  private total: number | undefined;
  private failure: FlotillaError | undefined;
  private readonly waiters = new Waiters();
  private readonly settled: Promise<R[]>;
  private jobId: string | undefined;
  private readonly idReady: Promise<string>;
  /** Where the `progress` option's figures go, if anywhere. */
  private progress: ProgressSink | undefined;
  private resolveId!: (id: string) => void;
  private rejectId!: (err: FlotillaError) => void;

  /** @internal created by Session.map */
  constructor(
    private readonly canceller: (jobId: string) => Promise<void>,
    /** Where app code started the job: the errors it rejects with point there. */
    private readonly site?: CallSite,
  ) {
    this.idReady = new Promise((resolve, reject) => {
      this.resolveId = resolve;
      this.rejectId = reject;
    });
    this.idReady.catch(() => {});
    this.settled = new Promise<R[]>((resolve, reject) => {
      const check = () => {
        const over = this.failure !== undefined || (this.total !== undefined && this.arrived.length >= this.total);
        if (!over) return this.waiters.add(check);
        // The last figures are shown before the caller goes on.
        const shown = this.progress ? this.progress.stop() : Promise.resolve();
        void shown.then(() => {
          if (this.failure) return reject(locateError(this.failure, this.site));
          try {
            resolve(this.collect());
          } catch (err) {
            reject(locateError(err as Error, this.site));
          }
        });
      };
      check();
    });
    this.settled.catch(() => {}); // unhandled only if nobody awaits; the iterator reports it too
  }

  /** The controller's id for this job, once submitted. */
  get id(): Promise<string> {
    return this.idReady;
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
    this.resolveId(jobId);
    this.wake();
  }

  /** @internal */
  push(outcomes: TaskOutcome<R>[]): void {
    let n = 0;
    let failed = 0;
    for (const o of outcomes) {
      if (this.byIndex[o.index]) continue; // a resumed stream may repeat what we have
      this.byIndex[o.index] = o;
      this.arrived.push(o);
      n++;
      if (!o.ok) failed++;
    }
    this.progress?.add(n, failed);
    this.wake();
  }

  /** @internal the job cannot go on: submit failed, the stream broke, or it was aborted. */
  fail(err: FlotillaError): void {
    this.failure ??= err;
    if (this.jobId === undefined) this.rejectId(err); // never submitted: no id will come
    this.wake();
  }

  private wake(): void {
    this.waiters.wake();
  }

  private collect(): R[] {
    const failed = this.byIndex.filter((o): o is Extract<TaskOutcome<R>, { ok: false }> => !!o && !o.ok);
    if (failed.length > 0) {
      const first = failed[0]!;
      throw Object.assign(
        new FlotillaError(first.error.code, `${failed.length} of ${this.total} task(s) failed; first, task ${first.index}: ${first.error.message}`, {
          cause: first.error,
          context: { ...first.error.context, jobId: this.jobId, taskIndex: first.index },
        }),
        { outcomes: this.byIndex as TaskOutcome<R>[] },
      );
    }
    return this.byIndex.map((o) => (o as { value: R }).value);
  }

  then<A = R[], B = never>(onok?: ((v: R[]) => A | PromiseLike<A>) | null, onerr?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.settled.then(onok, onerr);
  }

  catch<B = never>(onerr?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<R[] | B> {
    return this.settled.catch(onerr);
  }

  finally(onfinally?: (() => void) | null): Promise<R[]> {
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
    await this.canceller(await this.idReady);
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
      await this.waiters.wait();
    }
  }
}
