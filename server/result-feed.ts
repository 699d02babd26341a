/**
 * One client's results of many jobs on one stream (the `session.results` subscription): the
 * jobs it follows, each from an offset, and a reader that hands over what has arrived, job by
 * job, one event at a time (the reader asks for the next event only when the socket has room:
 * backpressure). Per client, the streams and the jobs they follow are capped.
 */
import { FlotillaError } from '../contract/errors.js';
import type { ErrorInfo } from '../contract/errors.js';
import { Waiters } from '../contract/waiters.js';
import type { FeedPart } from '../contract/session-schemas.js';
import type { Job, TaskResult } from './job.js';

export type { FeedPart };

/** Result streams one client may hold open at once. */
export const MAX_FEEDS_PER_CLIENT = 16;
/** Jobs one client's streams may follow at once (a finished job stops counting once its results are sent). */
export const MAX_FOLLOWED_PER_CLIENT = 200_000;

interface Followed {
  job: Job;
  offset: number;
  /** A wait on the job's log is armed. */
  armed: boolean;
}

/** The jobs one result stream follows. */
export class ResultFeed {
  readonly #followed = new Map<string, Followed>();
  /** Followed jobs with results to hand over (or finished): read in this order. */
  readonly #ready = new Set<string>();
  readonly #waiters = new Waiters();
  /** Counted across all the client's feeds. */
  constructor(private readonly client: ClientFeeds) {}

  get size(): number {
    return this.#followed.size;
  }

  /** Follows `job` from `offset` (again from there if it is followed already). */
  follow(job: Job, offset: number): void {
    if (!this.#followed.has(job.id)) {
      if (this.client.followed >= MAX_FOLLOWED_PER_CLIENT) {
        throw new FlotillaError('BAD_INPUT', `this client already follows ${MAX_FOLLOWED_PER_CLIENT} jobs, the most one client may (await some before submitting more)`, { context: { jobId: job.id } });
      }
      this.client.followed++;
    }
    const f: Followed = { job, offset, armed: false };
    this.#followed.set(job.id, f);
    // A job with nothing to read yet (a map just submitted) waits on its log at once, rather
    // than being read empty by the next event first.
    if (offset >= job.logLength && !job.finished && offset < job.total) this.#arm(f);
    else this.#mark(f);
  }

  /** Stops following a job (its results no longer sent). */
  unfollow(jobId: string): void {
    if (this.#followed.delete(jobId)) this.client.followed--;
    this.#ready.delete(jobId);
  }

  #mark(f: Followed): void {
    this.#ready.add(f.job.id);
    this.#waiters.wake();
  }

  /** Waits on the job's log once; it marks the job ready when the log grows or ends. */
  #arm(f: Followed): void {
    if (f.armed) return;
    f.armed = true;
    f.job.onChange(() => {
      f.armed = false;
      if (this.#followed.get(f.job.id) === f) this.#mark(f);
    });
  }

  /**
   * The next event: parts of ready jobs, up to `max` results per job and about `budget` bytes in
   * all (`size` estimates a result); waits while nothing is ready. With `closing` aborted, a job
   * that cannot finish ends with a CLOSED part.
   */
  async next(max: number, budget: number, size: (r: TaskResult) => number, signal: AbortSignal | undefined, closing: AbortSignal, kept = false): Promise<FeedPart[]> {
    for (;;) {
      if (signal?.aborted) return [];
      const parts: FeedPart[] = [];
      let bytes = 0;
      for (const id of this.#ready) {
        if (bytes >= budget && parts.length > 0) break;
        this.#ready.delete(id);
        const f = this.#followed.get(id);
        if (!f) continue;
        const { job } = f;
        const read = job.readLog(f.offset, max);
        let n = 0;
        while (n < read.length && (bytes < budget || n === 0)) bytes += size(read[n++]!);
        if (n > 0) {
          f.offset += n;
          parts.push({ jobId: id, seq: f.offset, results: n === read.length ? read : read.slice(0, n), total: job.total, pool: job.pool });
        }
        if (f.offset >= job.total || (job.finished && f.offset >= job.logLength)) {
          this.unfollow(id);
        } else if (f.offset < job.logLength) {
          this.#ready.add(id); // more to read: after the others
        } else if (closing.aborted) {
          this.unfollow(id);
          parts.push({ jobId: id, seq: f.offset, results: [], total: job.total, pool: job.pool, error: closedInfo(job, kept) });
        } else {
          this.#arm(f);
        }
      }
      if (parts.length > 0 || (closing.aborted && this.#followed.size === 0)) return parts;
      await this.#wait(signal, closing);
    }
  }

  /** Resolves at the next mark, when the reader goes away or when the controller closes. */
  #wait(signal: AbortSignal | undefined, closing: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        closing.removeEventListener('abort', onClose);
        resolve();
      };
      // Closing: every followed job is looked at once more (to end those that cannot finish).
      const onClose = () => {
        for (const f of this.#followed.values()) this.#ready.add(f.job.id);
        done();
      };
      if (closing.aborted) return onClose();
      signal?.addEventListener('abort', done, { once: true });
      closing.addEventListener('abort', onClose, { once: true });
      this.#waiters.add(done);
    });
  }

  /** Ends the feed: its jobs no longer count against the client. */
  close(): void {
    this.client.followed -= this.#followed.size;
    this.#followed.clear();
    this.#ready.clear();
    this.#waiters.wake();
  }
}

/** Why a followed job ends unfinished: the controller closed (a durable one goes on at its next start). */
export function closedInfo(job: Job, kept: boolean): ErrorInfo {
  const more = kept ? '; it is kept, and goes on when the controller starts again' : '';
  return { code: 'CLOSED', message: `the controller closed before job ${job.id} finished${more}`, context: { jobId: job.id } };
}

/** One client's feeds, by the stream id it chose. */
export class ClientFeeds {
  readonly feeds = new Map<string, ResultFeed>();
  followed = 0;

  /** The feed `stream` names, made if new (a submit may arrive before its stream's subscription). */
  feed(stream: string): ResultFeed {
    let feed = this.feeds.get(stream);
    if (!feed) {
      if (this.feeds.size >= MAX_FEEDS_PER_CLIENT) {
        throw new FlotillaError('BAD_INPUT', `this client already has ${MAX_FEEDS_PER_CLIENT} result streams, the most one client may (close sessions it no longer uses)`);
      }
      feed = new ResultFeed(this);
      this.feeds.set(stream, feed);
    }
    return feed;
  }

  /** Ends a stream. */
  drop(stream: string): void {
    this.feeds.get(stream)?.close();
    this.feeds.delete(stream);
  }
}

/** Feeds per client socket; in-process callers share one set. */
const byClient = new WeakMap<object, ClientFeeds>();
const inProcess = {};

/** The feeds of the client on `ws` (or of in-process callers). */
export function clientFeeds(ws: object | undefined): ClientFeeds {
  const key = ws ?? inProcess;
  let c = byClient.get(key);
  if (!c) byClient.set(key, (c = new ClientFeeds()));
  return c;
}
