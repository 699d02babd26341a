/**
 * A session's maps of one event-loop turn as one submission, and the results of all its jobs on
 * one stream: `submit` queues a job's first message and sends the turn's queue together; the
 * session's stream (opened with the first job, closed once no job is followed for a moment)
 * carries parts of many jobs, each handed to its job's handler.
 */
import { FlotillaError } from '../contract/errors.js';
import type { ErrorInfo } from '../contract/errors.js';
import type { ResultBatch } from '../contract/job-types.js';
import type { SubmitInput } from '../contract/schemas.js';
import type { FeedPart, SubmitOutcome } from '../contract/session-schemas.js';

/** How a mux reaches the controller: over tRPC (transport.ts) or in process (embedded.ts). */
export interface MuxTransport {
  /** Submits many jobs' first messages, following the accepted ones on `stream`; `sent` says how many arguments each carried. */
  submit(stream: string, jobs: SubmitInput[]): Promise<(SubmitOutcome & { sent?: number })[]>;
  /** Follows jobs on `stream`, each from an offset. */
  follow(stream: string, jobs: { jobId: string; offset: number }[]): Promise<({ ok: true } | { error: ErrorInfo })[]>;
  /** Opens `stream`; `started` is called each time it (re)starts. Returns its stop. */
  open(stream: string, on: { started(): void; data(parts: FeedPart[]): void; error(err: unknown): void }): () => void;
}

/** Where a job's results go: its batches, or the error that ends its stream. */
export interface Receiver {
  onBatch(b: ResultBatch): void;
  onError(err: unknown): void;
}

/** A job's handler: its receiver (called as a method: it may be a class instance), and the offset reached. */
interface Handler {
  to: Receiver;
  /** Offset reached: where a re-follow resumes. */
  seq: number;
}

/** What a submitted job hears: its id (before any of its results), its results, or why it was refused or its stream ended. */
export interface Submitted extends Receiver {
  /** The controller took the job: `sent` says how many arguments its first message carried. */
  started(r: { jobId: string; total: number; sent: number }): void;
  /** The submission failed or the job was refused: nothing else comes. */
  refused(err: unknown): void;
}

/** What a session's runner asks of a mux: over a stream (ResultMux) or in process (client/local-mux.ts). */
export interface JobMux {
  /** Queues a job's first message, sent with the others of this turn; `to` hears its id before any of its results. */
  submit(input: SubmitInput, to: Submitted): void;
  /** Follows a job submitted earlier from offset 0 (attach), handing its results to `to`; returns the stop. */
  follow(jobId: string, to: Receiver): () => void;
  /**
   * Stops handing a job's results over (its stream ended, or it is no longer wanted): to `to`,
   * the receiver given to `submit`, where the mux tells several followers of one job apart.
   */
  stop(jobId: string, to?: object): void;
  /** Ends every job's results with `err`. */
  close(err: FlotillaError): void;
}

interface Queued {
  input: SubmitInput;
  to: Submitted;
}

/** How long the stream stays open with no job followed (so back-to-back maps share it). */
const IDLE_MS = 200;
let streams = 0;

/** One session's coalesced submissions and multiplexed result stream. */
export class ResultMux implements JobMux {
  #stream: string | undefined;
  #stop: (() => void) | undefined;
  #starts = 0;
  #idle: NodeJS.Timeout | undefined;
  readonly #handlers = new Map<string, Handler>();
  /** Parts that came before their job's handler (a submit's answer after its first results). */
  readonly #early = new Map<string, FeedPart[]>();
  /** Jobs no longer handled whose parts may still come. */
  readonly #gone = new Set<string>();
  #queue: Queued[] = [];
  #inFlight = 0;
  /**
   * Followers of jobs this mux already follows (an attach beside its own map): a stream follows a
   * job once, so each further follower goes on a mux, and a stream, of its own. Rare.
   */
  #more: ResultMux | undefined;

  constructor(private readonly transport: MuxTransport) {}

  /**
   * Queues a job's first message (sent with the others of this turn). `to.started` hears its id
   * and how many arguments the message carried before any of its results reach `to.onBatch`.
   */
  submit(input: SubmitInput, to: Submitted): void {
    if (this.#queue.length === 0) queueMicrotask(() => void this.#flush());
    this.#queue.push({ input, to });
  }

  /** Follows a job submitted earlier from offset 0 (attach); returns the stop. */
  follow(jobId: string, to: Receiver): () => void {
    if (this.#handlers.has(jobId)) return (this.#more ??= new ResultMux(this.transport)).follow(jobId, to);
    const stream = this.#open();
    this.#handle(jobId, { to, seq: 0 });
    this.#inFlight++;
    this.transport
      .follow(stream, [{ jobId, offset: 0 }])
      .then(([r]) => r && 'error' in r && this.#end(jobId, FlotillaError.fromInfo(r.error)), (err) => this.#end(jobId, err))
      .finally(() => this.#settled());
    return () => this.#end(jobId);
  }

  /** Stops handing a job's results over (its stream ended, or it is no longer wanted): to `to`, or to every follower. */
  stop(jobId: string, to?: object): void {
    const here = this.#handlers.get(jobId)?.to;
    if (to === undefined || here === to) this.#end(jobId);
    if (to === undefined || here !== to) this.#more?.stop(jobId, to);
  }

  async #flush(): Promise<void> {
    const queue = this.#queue;
    this.#queue = [];
    const stream = this.#open();
    this.#inFlight++;
    try {
      const outcomes = await this.transport.submit(stream, queue.map((q) => q.input));
      queue.forEach((q, i) => {
        const o = outcomes[i];
        if (!o || o.error) return q.to.refused(o ? FlotillaError.fromInfo(o.error) : new FlotillaError('INTERNAL', 'the controller gave no answer for a job of the submission'));
        q.to.started({ jobId: o.jobId, total: o.total, sent: o.sent ?? q.input.args.length });
        if (o.total > 0) this.#handle(o.jobId, { to: q.to, seq: 0 });
      });
    } catch (err) {
      for (const q of queue) q.to.refused(err);
    } finally {
      this.#settled();
    }
  }

  #handle(jobId: string, h: Handler): void {
    this.#gone.delete(jobId);
    this.#handlers.set(jobId, h);
    const early = this.#early.get(jobId);
    if (early) {
      this.#early.delete(jobId);
      this.#data(early);
    }
  }

  /** Stops handling a job; `complete`: its last part came, so nothing more will. */
  #end(jobId: string, err?: unknown, complete = false): void {
    const h = this.#handlers.get(jobId);
    if (h) this.#handlers.delete(jobId);
    if (this.#early.size > 0) this.#early.delete(jobId);
    if (h && !complete) this.#gone.add(jobId); // what still comes for it is dropped
    if (h && err !== undefined) h.to.onError(err);
    this.#idleCheck();
  }

  /** A submission or follow call has been answered. */
  #settled(): void {
    this.#inFlight--;
    this.#idleCheck();
  }

  /** With nothing followed or on its way, the stream closes after IDLE_MS. */
  #idleCheck(): void {
    if (this.#handlers.size > 0 || this.#queue.length > 0 || this.#inFlight > 0 || !this.#stop) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#handlers.size === 0 && this.#queue.length === 0 && this.#inFlight === 0) this.#close();
    }, IDLE_MS).unref(); // an open socket keeps the process alive anyway; a finished embedded one need not wait
  }

  /** The stream's id, opening it if it is not open. */
  #open(): string {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    if (this.#stream !== undefined) return this.#stream;
    // A new id each time: the controller may still be ending the last stream of this id.
    const stream = (this.#stream = `s${process.pid}-${++streams}-${Math.random().toString(36).slice(2, 10)}`);
    this.#starts = 0;
    this.#stop = this.transport.open(stream, {
      started: () => {
        // After a reconnect the controller follows nothing for this client: follow again from where each job got to.
        if (this.#starts++ === 0 || this.#handlers.size === 0 || this.#stream !== stream) return;
        const jobs = [...this.#handlers].map(([jobId, h]) => ({ jobId, offset: h.seq }));
        this.transport.follow(stream, jobs).catch((err) => this.#fail(err));
      },
      data: (parts) => this.#data(parts),
      error: (err) => this.#fail(err),
    });
    return stream;
  }

  #data(parts: FeedPart[]): void {
    for (const p of parts) {
      const h = this.#handlers.get(p.jobId);
      if (!h) {
        if (this.#gone.has(p.jobId)) continue;
        const early = this.#early.get(p.jobId);
        if (early) early.push(p);
        else this.#early.set(p.jobId, [p]);
        continue;
      }
      if (p.results.length > 0) {
        h.seq = Math.max(h.seq, p.seq);
        h.to.onBatch({ seq: p.seq, results: p.results, total: p.total, pool: p.pool });
      }
      if (p.error) this.#end(p.jobId, FlotillaError.fromInfo(p.error));
      else if (p.seq >= p.total) this.#end(p.jobId, undefined, true);
    }
  }

  /** The stream broke: every job on it ends with `err`; the next submission opens a new one. */
  #fail(err: unknown): void {
    this.#close();
    const handlers = [...this.#handlers.values()];
    this.#handlers.clear();
    this.#early.clear();
    for (const h of handlers) h.to.onError(err);
  }

  #close(): void {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    const stop = this.#stop;
    this.#stop = undefined;
    this.#stream = undefined;
    this.#gone.clear();
    stop?.();
  }

  /** Ends every job's stream with `err` and closes the stream. */
  close(err: FlotillaError): void {
    this.#fail(err);
    this.#more?.close(err);
  }
}
