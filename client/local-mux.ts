/**
 * The maps of a session on an embedded controller: a turn's maps are submitted together, and each
 * job hands its results straight to its map's handle as its log grows, with no stream, no event
 * and no routing by id in between (over a socket, client/result-mux.ts does that part). A result
 * is read from the job's log, so it is shown only once readable: with a store, once committed.
 */
import { FlotillaError } from '../contract/errors.js';
import type { ResultBatch, TaskResult } from '../contract/job-types.js';
import type { SubmitInput } from '../contract/schemas.js';
import type { Job } from '../server/job.js';
import type { Core } from '../server/core.js';
import type { ErrorInfo } from '../contract/errors.js';
import type { JobMux, Receiver, Submitted } from './result-mux.js';

/** Read when the log holds nothing new; never handed over. */
const NONE: TaskResult[] = [];

/** One job whose results go to one receiver. */
class Follower {
  /** A wait on the job's log is armed. */
  armed = false;
  /** Ended: nothing more is handed over. */
  stopped = false;
  /** Another follower of the same job in this session (an attach beside the map): a chain, rare. */
  next: Follower | undefined = undefined;

  constructor(
    readonly job: Job,
    /** Results handed over so far. */
    public offset: number,
    readonly to: Receiver,
  ) {}
}

/** What the mux takes from the controller's side (client/embedded.ts hands it over: only it loads server code). */
export interface LocalFeedRules {
  /** Results handed over at most at once. */
  batch: number;
  /** Why a job ends unfinished when the controller closes (`kept`: it goes on at the next start). */
  closed(job: Job, kept: boolean): ErrorInfo;
  /** Jobs followed at once, at most: as many as a remote client's result streams may follow. */
  maxFollowed: number;
}

/** A session's jobs on the controller in this process. */
export class LocalMux implements JobMux {
  /** The turn's submissions, in two lists (no object per map). */
  #inputs: SubmitInput[] = [];
  #tos: Submitted[] = [];
  readonly #followed = new Map<string, Follower>();
  #closed: FlotillaError | undefined;
  /** The controller closing: each followed job hands over what it has, and one that cannot finish ends. */
  readonly #onClosing = (): void =>
    queueMicrotask(() => {
      const followers: Follower[] = [];
      for (let f of this.#followed.values()) for (; f; f = f.next!) followers.push(f);
      for (const f of followers) this.pump(f);
    });

  constructor(
    private readonly plane: Core,
    private readonly rules: LocalFeedRules,
  ) {
    plane.closingSignal.addEventListener('abort', this.#onClosing, { once: true });
  }

  submit(input: SubmitInput, to: Submitted): void {
    if (this.#inputs.length === 0) queueMicrotask(this.#flush);
    this.#inputs.push(input);
    this.#tos.push(to);
  }

  /** Submits the turn's maps, each as soon as it is checked; the controller dispatches them together after this turn. */
  readonly #flush = (): void => {
    const inputs = this.#inputs;
    const tos = this.#tos;
    this.#inputs = [];
    this.#tos = [];
    for (let i = 0; i < inputs.length; i++) {
      const to = tos[i]!;
      if (this.#closed) {
        to.refused(this.#closed);
        continue;
      }
      let job: Job;
      try {
        this.#room();
        job = this.plane.submitJob(inputs[i]!);
      } catch (err) {
        to.refused(FlotillaError.from(err, 'BAD_INPUT'));
        continue;
      }
      try {
        to.started({ jobId: job.id, total: job.total, sent: inputs[i]!.args.length });
        if (job.total > 0) this.#follow(job, 0, to);
      } catch (err) {
        to.refused(err); // a handle that threw (a progress callback) fails alone; the turn's others go on
      }
    }
  };

  follow(jobId: string, to: Receiver): () => void {
    try {
      if (this.#closed) throw this.#closed;
      this.#room();
      const f = this.#follow(this.plane.job(jobId), 0, to);
      return () => this.#end(f);
    } catch (err) {
      to.onError(err);
      return () => {};
    }
  }

  /** Refuses a job (before it is submitted) when this session already follows the most it may. */
  #room(): void {
    const max = this.rules.maxFollowed;
    if (this.#followed.size >= max) throw new FlotillaError('BAD_INPUT', `this session already follows ${max} jobs, the most one client may (await some before submitting more)`);
  }

  #follow(job: Job, offset: number, to: Receiver): Follower {
    const f = new Follower(job, offset, to);
    f.next = this.#followed.get(job.id);
    this.#followed.set(job.id, f);
    this.pump(f);
    return f;
  }

  /**
   * Hands over what the job's log holds past the follower's offset; ends the follower once the
   * last result is handed over (or the controller closed before the job could finish); else
   * waits for the log to grow.
   */
  pump(f: Follower): void {
    const { job } = f;
    while (!f.stopped) {
      const read = f.offset < job.logLength ? job.readLog(f.offset, this.rules.batch) : NONE;
      if (read.length > 0) {
        f.offset += read.length;
        if (f.offset >= job.total) this.#end(f);
        f.to.onBatch({ seq: f.offset, results: read, total: job.total, pool: job.pool });
        continue; // more, or onBatch stopped it: the loop checks
      }
      if (job.finished) {
        this.#end(f);
      } else if (this.plane.closingSignal.aborted) {
        this.#end(f);
        f.to.onError(FlotillaError.fromInfo(this.rules.closed(job, this.plane.durable)));
      } else if (!f.armed) {
        f.armed = true;
        job.onChange(() => {
          f.armed = false;
          this.pump(f);
        });
      }
      return;
    }
  }

  #end(f: Follower): void {
    if (f.stopped) return;
    f.stopped = true;
    const head = this.#followed.get(f.job.id);
    if (head === f) {
      if (f.next) this.#followed.set(f.job.id, f.next);
      else this.#followed.delete(f.job.id);
    } else {
      for (let p = head; p; p = p.next) {
        if (p.next === f) {
          p.next = f.next;
          break;
        }
      }
    }
  }

  /** Stops handing a job over to `to` (the receiver given to submit), or to every follower of it. */
  stop(jobId: string, to?: object): void {
    for (let f = this.#followed.get(jobId); f; f = f.next) if (to === undefined || f.to === to) this.#end(f);
  }

  close(err: FlotillaError): void {
    this.#closed ??= err;
    this.plane.closingSignal.removeEventListener('abort', this.#onClosing);
    const followers: Follower[] = [];
    for (let f of this.#followed.values()) for (; f; f = f.next!) followers.push(f);
    this.#followed.clear();
    for (const f of followers) {
      f.stopped = true;
      f.to.onError(err);
    }
  }
}
