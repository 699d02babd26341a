/**
 * What a session does for the jobs it runs: sends a prepared job in chunks, streams its results
 * into its MapJob, and keeps the process alive while any of that is under way (an embedded
 * controller holds nothing that would).
 */
import { FlotillaError } from '../contract/errors.js';
import type { HotPath } from './transport.js';
import { encodeChunk } from './chunks.js';
import type { MapJob } from './job.js';
import { toOutcome } from './outcome.js';
import type { TaskOutcome } from './outcome.js';
import { abortError } from './abort.js';
import { fromTRPCError } from './errors.js';
import { isNamed } from './functions.js';
import type { PreparedMap } from './map-input.js';
import { OpenList } from './open-list.js';
import type { OpenNode } from './open-list.js';
import { ResultMux } from './result-mux.js';
import type { JobMux } from './result-mux.js';
import type { ResultBatch } from '../contract/job-types.js';
import type { SubmitInput } from '../contract/schemas.js';

/** Where a job's results go. */
interface Results {
  onBatch(b: ResultBatch): void;
  onError(err: unknown): void;
}

/** Sends a session's jobs and streams their results. */
export class MapRunner {
  #active = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  /** Ends each open result stream; close() calls them so no job is left waiting. */
  readonly #streams = new OpenList();
  /** What a WholeRun needs of this runner. */
  readonly #host: WholeRunHost = {
    done: (run) => (this.#streams.delete(run), this.hold(-1)),
    stop: (jobId, run) => this.mux.stop(jobId, run),
    rest: (jobId, input, sent) => this.#appendRest(jobId, input, sent),
  };
  /** This session's coalesced submissions and its one result stream (or, in process, its direct path). */
  private readonly mux: JobMux;

  constructor(
    private readonly hot: HotPath,
    /** Cancels a job the session could not finish sending. */
    private readonly cancel: (jobId: string) => Promise<unknown>,
  ) {
    this.mux = typeof hot.mux === 'function' ? hot.mux() : new ResultMux(hot.mux);
  }

  /**
   * Submits a prepared job: the first chunk of arguments with the job, the others appended one
   * after the other, each encoded only when its turn comes, so neither side holds the whole job
   * encoded. An item that cannot be sent cancels the job. Resolves with the job's id. With
   * `results`, the first message travels with the other maps of this turn and the job's results
   * come on the session's stream.
   */
  async send(input: PreparedMap, onSubmitted?: (jobId: string, total: number) => void, results?: Results): Promise<string> {
    const first = this.#first(input);
    const { jobId, sent } = results
      ? await new Promise<{ jobId: string; sent: number }>((started, refused) => this.mux.submit(first, Object.assign(results, { started, refused })))
      : await this.hot.submit(first);
    onSubmitted?.(jobId, input.list.length);
    await this.#appendRest(jobId, input, sent);
    return jobId;
  }

  /** Sends what a job's first message could not carry, in the next ones; a failure cancels the job. */
  async #appendRest(jobId: string, input: PreparedMap, sent: number): Promise<void> {
    let args = input.first.slice(sent);
    for (let offset = sent; offset < input.list.length; ) {
      try {
        if (args.length === 0) args = encodeChunk(input.list, offset);
        const r = await this.hot.append({ jobId, offset, args });
        offset += r.sent;
        args = args.slice(r.sent);
      } catch (err) {
        await this.cancel(jobId).catch(() => {});
        throw err;
      }
    }
  }

  /** Sends the job and streams its results into `job`; aborting `signal` cancels it. */
  run<R>(job: MapJob<R>, input: PreparedMap, signal: AbortSignal | undefined): Promise<void> | void {
    if (signal?.aborted) return job.fail(abortError(signal, 'job', undefined, true));
    if (signal || input.first.length < input.list.length) return this.#runChunked(job, input, signal);
    this.#runWhole(job, input);
  }

  /**
   * A job whose arguments were all encoded for its first message, with no signal to watch: the common
   * single-task map, issued by the thousand. One small object (WholeRun) and no promise or stream
   * of its own: the mux says when the controller took it (before any of its results) and hands
   * its results over.
   */
  #runWhole<R>(job: MapJob<R>, input: PreparedMap): void {
    this.hold(+1);
    const run = new WholeRun(job, input, this.#host);
    this.#streams.add(run);
    this.mux.submit(this.#first(input), run);
  }

  /** A job's first message: its options, its function, the first chunk of its arguments. */
  #first(input: PreparedMap): SubmitInput {
    return { ...input.sched, ...(isNamed(input.fn) ? input.fn : { fn: input.fn }), args: input.first, total: input.list.length };
  }

  async #runChunked<R>(job: MapJob<R>, input: PreparedMap, signal: AbortSignal | undefined): Promise<void> {
    this.hold(+1);
    let jobId = '';
    let total = 0;
    const { streamed, results, end, started } = this.#results(job, () => jobId);
    try {
      // Results stream while later chunks are still being sent.
      const sent = this.send(
        input,
        (id, n) => {
          jobId = id;
          total = n;
          job.started(id, n);
          started();
        },
        results,
      );
      sent.catch((err) => job.fail(fromTRPCError(err)));
      await Promise.race([sent, job.id]);
      const onAbort = () => {
        job.fail(abortError(signal!, 'job', { jobId }));
        end();
        void this.cancel(jobId).catch(() => {});
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort(); // aborted while the submit was on its way
      try {
        if (total > 0) await streamed;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      job.fail(fromTRPCError(err));
    } finally {
      end();
      this.hold(-1);
    }
  }

  /**
   * Where a job's results go on the session's stream: into `job`; `streamed` resolves once all
   * have arrived (or rejects with what ended the stream); `end` stops taking them. Results that
   * come before the job has its id and total (a submit's answer can trail its first results)
   * wait for `started`.
   */
  #results<R>(job: MapJob<R>, id: () => string): { streamed: Promise<void>; results: Results; end: (err?: unknown) => void; started: () => void } {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const streamed = new Promise<void>((ok, fail) => ((resolve = ok), (reject = fail)));
    streamed.catch(() => {});
    let open = true;
    const end = (err?: unknown) => {
      if (!open) return;
      open = false;
      this.#streams.delete(entry);
      if (id()) this.mux.stop(id(), results);
      if (err) reject(err);
      else resolve();
    };
    const entry: OpenNode = { abort: end, prevOpen: undefined, nextOpen: undefined };
    this.#streams.add(entry);
    let early: ResultBatch[] | undefined = [];
    const take = (b: ResultBatch) => {
      if (!open) return;
      job.push(b.results.map((r) => toOutcome<R>(r, b.pool)));
      if (b.seq >= b.total) end();
    };
    const results: Results = {
      onBatch: (b) => (early ? early.push(b) : take(b)),
      onError: (err) => end(err),
    };
    const started = () => {
      const held = early ?? [];
      early = undefined;
      held.forEach(take);
    };
    return { streamed, results, end, started };
  }

  /** Streams a job's results from the first into `job`; resolves once all have arrived. */
  stream<R>(job: MapJob<R>, jobId: string): Promise<void> {
    const { streamed, results, started } = this.#results(job, () => jobId);
    started(); // attach starts the job before following it
    this.mux.follow(jobId, results);
    return streamed;
  }

  /**
   * An embedded controller's jobs die with this process: a job submitted to one keeps the
   * process alive until it has finished (or the session is closed), as a map's does.
   */
  holdUntilDone(jobId: string): void {
    this.hold(+1);
    let ended = false;
    let stop: (() => void) | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      this.hold(-1);
      queueMicrotask(() => stop?.());
    };
    stop = this.hot.watch(jobId, (b) => b.seq >= b.total && end(), end);
  }

  /** Keeps the process alive while `p` runs. */
  async holding<T>(p: Promise<T>): Promise<T> {
    this.hold(+1);
    try {
      return await p;
    } finally {
      this.hold(-1);
    }
  }

  /** While jobs run, keep the process alive even though an embedded controller does not. */
  hold(d: number): void {
    this.#active += d;
    if (this.#active > 0 && !this.#keepAlive) this.#keepAlive = setInterval(() => {}, 1 << 30);
    if (this.#active === 0 && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  /** Ends every open stream with `err`, and holds the process no longer. */
  close(err: FlotillaError): void {
    for (const s of this.#streams.all()) s.abort(err);
    this.mux.close(err);
    if (this.#keepAlive) clearInterval(this.#keepAlive);
  }
}

/** What a WholeRun needs of its runner. */
interface WholeRunHost {
  done(run: WholeRun<unknown>): void;
  stop(jobId: string, run: object): void;
  /** Appends the arguments from `sent` on (the submission carried fewer than were encoded). */
  rest(jobId: string, input: PreparedMap, sent: number): Promise<void>;
}

/**
 * One job on the session's stream whose arguments were encoded for its first message: its MapJob
 * fed from the mux's calls (methods, so a map of one task makes no closures), ended once its last
 * result came or it failed.
 */
class WholeRun<R> implements OpenNode {
  prevOpen: OpenNode | undefined = undefined;
  nextOpen: OpenNode | undefined = undefined;
  #open = true;
  #jobId = '';
  /** Held until the controller took the job (it may ask for the rest of the arguments). */
  #input: PreparedMap | undefined;

  constructor(
    private readonly job: MapJob<R>,
    input: PreparedMap,
    private readonly host: WholeRunHost,
  ) {
    this.#input = input;
  }

  started(r: { jobId: string; total: number; sent: number }): void {
    const input = this.#input!;
    this.#input = undefined;
    this.#jobId = r.jobId;
    this.job.started(r.jobId, r.total);
    if (r.total === 0) return this.#end();
    // A submission shared with other maps carries what fits in its message; the rest follows.
    if (r.sent < input.first.length) this.host.rest(r.jobId, input, r.sent).catch((err: unknown) => this.abort(err));
  }

  onBatch(b: ResultBatch): void {
    if (!this.#open) return;
    // A list of the batch's size (a single-task map's: one), not a push's room for seventeen.
    const outcomes = new Array<TaskOutcome<R>>(b.results.length);
    for (let i = 0; i < outcomes.length; i++) outcomes[i] = toOutcome<R>(b.results[i]!, b.pool);
    this.job.push(outcomes);
    // The last part: the mux stops handing this job over by itself.
    if (b.seq >= b.total) this.#end(true);
  }

  refused(err: unknown): void {
    this.abort(err);
  }

  onError(err: unknown): void {
    this.abort(err);
  }

  /** The job cannot go on (refused, its stream broke, the session closed). */
  abort(err: unknown): void {
    if (!this.#open) return;
    this.job.fail(fromTRPCError(err));
    this.#end();
  }

  #end(complete = false): void {
    if (!this.#open) return;
    this.#open = false;
    this.#input = undefined;
    if (this.#jobId && !complete) this.host.stop(this.#jobId, this);
    this.host.done(this as WholeRun<unknown>);
  }
}
