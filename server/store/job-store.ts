/**
 * The durable job store: jobs, their arguments and their results in one SQLite database
 * (better-sqlite3, WAL) in the controller's state folder. Arguments and results are written in
 * chunks (one row per submitted chunk, one row per flush of results), so a job of a million tiny
 * tasks costs thousands of rows, not millions. A result is committed before any client sees it:
 * after a crash, every result a client was shown is still here, and no task that finished is
 * run again. Rows of results are committed by a writer thread (./result-writer.ts); the event
 * loop packs them and shows them once the thread reports their commit. A batch of a few results
 * (when the thread is idle) is committed on the event loop: sooner than the thread would report.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { privateDatabase } from '../private-files.js';
import type { Encoded } from '../../contract/codec.js';
import type { FnSpec } from '../../contract/fnspec.js';
import type { TaskResult } from '../jobs/types.js';
import { readChunk } from './chunk.js';
import { isPacked } from './bytes.js';
import { packArgs, unpackArgs } from './packed-args.js';
import { readStoredResults, storedIndices, storedResults } from './result-rows.js';
import { ArtifactTable } from './artifact-table.js';
import { sqlite } from '../lazy.js';
import { migrate } from './migrate.js';
import { JOB_SCHEMA } from './job-schema.js';
import { ResultWriter, storeFailure } from './result-writer.js';
import type { CountsRow, ResultRow } from './result-writer.js';
import type { FlotillaError } from '../../contract/errors.js';

/** What a job was submitted with, as stored. */
export interface StoredSpec {
  fn: FnSpec;
  retries: number;
  crashLimit: number;
  timeoutMs: number;
}

/** A job's row. */
export interface JobRow {
  id: string;
  pool: string;
  spec: StoredSpec;
  total: number;
  appended: number;
  createdAt: number;
  finishedAt: number | undefined;
  cancelled: boolean;
  done: number;
  failed: number;
}

/** A job's counts as its row keeps them. */
export interface JobProgress {
  done: number;
  failed: number;
  /** When the last result was recorded. */
  finishedAt: number | undefined;
}

/** A job's result log, whose new results the store writes at its next flush (server/store/stored-result-log.ts). */
export interface Flushing {
  readonly jobId: string;
  /** Up to `max` results recorded since the last flush, with the log offset of the first. */
  drainPending(max?: number): { seq: number; results: TaskResult[] } | undefined;
  /** Whether results are left to drain. */
  readonly hasPending: boolean;
  /** How many results are left to drain. */
  readonly pendingCount: number;
  /** The counts to store once nothing is left to drain. */
  progress(): JobProgress;
  /** Called once what was drained is committed: it may be shown now. */
  publish(): void;
}

export class JobStore {
  private readonly db: Db;
  private readonly st: Record<'insertResults' | 'progress' | 'insertJob' | 'appendArgs' | 'setAppended' | 'argsAt' | 'resultsFrom' | 'allResults' | 'deleteJob' | 'deleteArgs' | 'deleteResults' | 'insertAgent' | 'deleteAgent' | 'cancel' | 'setTotal', Statement>;
  private readonly dirty = new Set<Flushing>();
  private readonly writer: ResultWriter;
  /** A small batch's rows committed on this thread's connection (the writer thread being idle); made once. */
  private readonly commitHere: (rows: ResultRow[], counts: CountsRow[]) => void;
  /** The batch the writer thread is committing: its id and the logs to show it to. */
  private inFlight: { id: number; jobs: Flushing[] } | undefined;
  private batches = 0;
  private sendScheduled = false;
  private closed = false;
  private failure: FlotillaError | undefined;
  readonly path: string;
  /** Module artifacts, kept with the jobs that need them. */
  readonly artifacts: ArtifactTable;

  /**
   * `onFailure`: the writer thread could not commit (its error names the file and SQLite's
   * reason); by default it is thrown on the event loop, as a failed commit on it would be.
   */
  constructor(dir: string, private readonly onFailure: (err: FlotillaError) => void = (err) => setImmediate(() => { throw err; })) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'jobs.db');
    const Database = sqlite();
    privateDatabase(this.path); // job specs and results: this user's only
    this.db = new Database(this.path);
    // WAL with synchronous=NORMAL: a commit survives the controller's crash (SIGKILL), which is
    // what this store promises; only a power cut may lose the last commits.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // A checkpoint (the WAL copied into the database, with fsyncs) every ~40 MB of commits rather
    // than SQLite's default 4 MB: on a store taking results by the hundred thousand, checkpoints
    // cost more than the commits. Durability is the same (a commit is in the WAL either way); the
    // WAL is cut back to 64 MB after a checkpoint.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.db.pragma('journal_size_limit = 67108864');
    try {
      migrate(this.db, this.path, JOB_SCHEMA);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.artifacts = new ArtifactTable(this.db);
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      insertResults: p('INSERT INTO results (job, seq, count, body) VALUES (?, ?, ?, ?)'),
      progress: p('UPDATE jobs SET done = ?, failed = ?, finished_at = ? WHERE id = ?'),
      insertJob: p('INSERT INTO jobs (id, pool, spec, total, appended, created_at) VALUES (?, ?, ?, ?, 0, ?)'),
      appendArgs: p('INSERT INTO args (job, first, count, body) VALUES (?, ?, ?, ?)'),
      setAppended: p('UPDATE jobs SET appended = ? WHERE id = ?'),
      argsAt: p('SELECT first, body FROM args WHERE job = ? AND first <= ? ORDER BY first DESC LIMIT 1'),
      resultsFrom: p('SELECT seq, body FROM results WHERE job = ? AND seq + count > ? ORDER BY seq LIMIT ?'),
      allResults: p('SELECT body FROM results WHERE job = ? ORDER BY seq'),
      deleteJob: p('DELETE FROM jobs WHERE id = ?'),
      deleteArgs: p('DELETE FROM args WHERE job = ?'),
      deleteResults: p('DELETE FROM results WHERE job = ?'),
      insertAgent: p('INSERT OR REPLACE INTO agents (id, pool, public_key, issued_at) VALUES (?, ?, ?, ?)'),
      deleteAgent: p('DELETE FROM agents WHERE id = ?'),
      cancel: p('UPDATE jobs SET cancelled = 1 WHERE id = ?'),
      setTotal: p('UPDATE jobs SET total = ? WHERE id = ?'),
    };
    this.writer = new ResultWriter(this.path, (id) => this.committed(id, true), (err) => this.failed(err));
    this.commitHere = this.db.transaction((rows: ResultRow[], counts: CountsRow[]) => {
      for (const r of rows) this.st.insertResults.run(r[0], r[1], r[2], r[3]);
      for (const c of counts) this.st.progress.run(c[0], c[1], c[2], c[3]);
    });
  }

  /** The database, for tables other parts of the controller keep beside the jobs (registered functions). */
  get database(): Db {
    return this.db;
  }

  createJob(row: Pick<JobRow, 'id' | 'pool' | 'spec' | 'total' | 'createdAt'>): void {
    this.st.insertJob.run(row.id, row.pool, JSON.stringify(row.spec), row.total, row.createdAt);
  }

  /** Stores arguments [first, first + args.length) as one chunk; returns its stored size in bytes. */
  appendArgs(jobId: string, first: number, args: readonly Encoded[]): number {
    if (args.length === 0) return 0;
    const body = packArgs(args);
    this.db.transaction(() => {
      this.st.appendArgs.run(jobId, first, args.length, body);
      this.st.setAppended.run(first + args.length, jobId);
    })();
    return body.length;
  }

  /** The stored chunk of arguments holding task `index`. */
  argsChunk(jobId: string, index: number): { first: number; args: Encoded[] } {
    const row = this.st.argsAt.get(jobId, index) as { first: number; body: Buffer } | undefined;
    if (!row) throw new Error(`job ${jobId}: no stored argument for task ${index}`);
    return { first: row.first, args: isPacked(row.body) ? unpackArgs(row.body) : readChunk(row.body, (w, unpack) => unpack(w)) };
  }

  /** Marks a job cancelled now, ahead of the results its cancel records. */
  markCancelled(jobId: string): void {
    if (!this.closed) this.st.cancel.run(jobId);
  }

  /** Sets a job's task count (a job restored from an older controller, trimmed to what it can run). */
  setTotal(jobId: string, total: number): void {
    this.st.setTotal.run(total, jobId);
  }

  /**
   * A job has results to write: they are handed to the writer thread at the end of this turn of
   * the event loop, or, while it commits a batch, once it reports that commit. A log calls this
   * again every PENDING_MARK results, so a writer that falls behind is noticed.
   */
  markDirty(job: Flushing): void {
    this.dirty.add(job);
    if (this.sendScheduled || this.closed) return;
    this.sendScheduled = true;
    setImmediate(() => this.tick());
  }

  /**
   * Commits what is pending now and shows it, waiting for the writer thread (blocking the event
   * loop): for closing, and for callers that need the results committed before they go on. A job
   * with more than RESULTS_PER_FLUSH waiting (a cancel of millions) has one part committed per call.
   */
  flush(): void {
    if (this.failure) throw this.failure;
    if (this.inFlight) this.await();
    if (this.dirty.size === 0 || this.closed) return;
    this.send();
    if (this.failure) throw this.failure;
    this.await();
  }

  private tick(): void {
    this.sendScheduled = false;
    if (this.closed || this.failure) return;
    if (!this.inFlight) return this.send();
    // Backpressure: while the writer commits, results wait in memory. Past a bound, the event
    // loop waits for the commit (as it did when it committed itself), so agents' reports wait
    // in their sockets rather than in the controller's heap.
    let waiting = 0;
    for (const job of this.dirty) waiting += job.pendingCount;
    if (waiting < MAX_WAITING) return;
    try {
      this.await();
    } catch {
      return; // failed: reported through onFailure
    }
    this.send();
  }

  /** Packs every dirty job's pending results (up to RESULTS_PER_FLUSH each) and hands them to the writer. */
  private send(): void {
    if (this.dirty.size === 0 || this.failure) return;
    const jobs = [...this.dirty];
    this.dirty.clear();
    let waiting = 0;
    for (const job of jobs) waiting += job.pendingCount;
    const rows: ResultRow[] = [];
    const counts: CountsRow[] = [];
    for (const job of jobs) {
      const p = job.drainPending(RESULTS_PER_FLUSH);
      // Rows of bounded size: one string per row stays far below V8's limit on string length.
      for (let at = 0; p && at < p.results.length; at += RESULTS_PER_ROW) {
        const part = p.results.length <= RESULTS_PER_ROW ? p.results : p.results.slice(at, at + RESULTS_PER_ROW);
        rows.push([job.jobId, p.seq + at, part.length, storedResults(part)]);
      }
      if (job.hasPending) continue;
      // Only a finished job's counts are read back (Job.restore counts an unfinished one's from
      // its rows): written once, not with every commit, which would write the jobs table's page
      // into the log each time. The cancelled flag is not among them: a cancel is written at once.
      const { done, failed, finishedAt } = job.progress();
      if (finishedAt !== undefined) counts.push([done, failed, finishedAt, job.jobId]);
    }
    if (waiting > LOOP_COMMIT_MAX) {
      this.inFlight = { id: ++this.batches, jobs };
      this.writer.write(this.inFlight.id, rows, counts);
      return;
    }
    // A few results (single calls, a trickle): committed here, as fast as a commit is, rather
    // than a thread's wake-up and report later.
    try {
      this.commitHere(rows, counts);
    } catch (err) {
      return this.failed(storeFailure(this.path, (err as Error).message));
    }
    for (const job of jobs) {
      job.publish();
      if (job.hasPending) this.markDirty(job);
    }
  }

  /** Waits for the batch in flight to be committed, and shows it. */
  private await(): void {
    const batch = this.inFlight;
    if (!batch) return;
    this.writer.waitFor(batch.id);
    this.committed(batch.id, false);
  }

  /**
   * The writer committed batch `id`: its results may be shown. What arrived meanwhile goes next:
   * at once (`next`, the thread's report on the event loop), else at the end of the turn.
   */
  private committed(id: number, next: boolean): void {
    const batch = this.inFlight;
    if (!batch || batch.id !== id) return; // already handled by a caller that waited for it
    this.inFlight = undefined;
    for (const job of batch.jobs) {
      job.publish();
      if (job.hasPending) this.dirty.add(job);
    }
    if (next && !this.closed) this.send();
    else if (this.dirty.size > 0 && !this.sendScheduled && !this.closed) {
      this.sendScheduled = true;
      setImmediate(() => this.tick());
    }
    if (!this.inFlight) this.writer.idle();
  }

  private failed(err: FlotillaError): void {
    if (this.failure) return;
    this.failure = err;
    this.onFailure(err);
  }

  /**
   * Up to `max` results of a job's log from offset `from`, reading no more stored chunks once
   * about `maxBytes` have been read (a slow reader of large results reads a little at a time).
   */
  readResults(jobId: string, from: number, max: number, maxBytes = 1 << 20): TaskResult[] {
    const out: TaskResult[] = [];
    let bytes = 0;
    for (const row of this.st.resultsFrom.iterate(jobId, from, max) as Iterable<{ seq: number; body: Buffer }>) {
      const results = readStoredResults(row.body);
      for (let i = Math.max(0, from - row.seq); i < results.length && out.length < max; i++) out.push(results[i]!);
      bytes += row.body.length;
      if (out.length >= max || bytes >= maxBytes) break;
    }
    return out;
  }

  /** Every recorded result's task index and whether it succeeded, in log order (to rebuild a job's state on restart). */
  *recordedIndices(jobId: string): Generator<[index: number, ok: boolean]> {
    for (const row of this.st.allResults.iterate(jobId) as Iterable<{ body: Buffer }>) yield* storedIndices(row.body);
  }

  jobs(): JobRow[] {
    const rows = this.db.prepare('SELECT * FROM jobs ORDER BY created_at, rowid').all() as Record<string, any>[];
    return rows.map((r) => ({
      id: r.id, pool: r.pool, spec: JSON.parse(r.spec) as StoredSpec, total: r.total, appended: r.appended,
      createdAt: r.created_at, finishedAt: r.finished_at ?? undefined, cancelled: r.cancelled === 1, done: r.done, failed: r.failed,
    }));
  }

  /** Arguments of a finished job are no longer needed. */
  dropArgs(jobId: string): void {
    this.st.deleteArgs.run(jobId);
  }

  deleteJob(jobId: string): void {
    this.db.transaction(() => {
      this.st.deleteArgs.run(jobId);
      this.st.deleteResults.run(jobId);
      this.st.deleteJob.run(jobId);
    })();
  }

  saveAgent(id: string, pool: string, publicKey: Uint8Array, issuedAt: number): void {
    this.st.insertAgent.run(id, pool, Buffer.from(publicKey), issuedAt);
  }

  deleteAgent(id: string): void {
    this.st.deleteAgent.run(id);
  }

  agents(): { id: string; pool: string; publicKey: Uint8Array; issuedAt: number }[] {
    return (this.db.prepare('SELECT * FROM agents').all() as Record<string, any>[]).map((r) => ({ id: r.id, pool: r.pool, publicKey: new Uint8Array(r.public_key), issuedAt: r.issued_at }));
  }

  /** Commits and shows what is pending, then closes (a failed writer's results stay unshown: it was reported). */
  close(): void {
    if (this.closed) return;
    try {
      while (!this.failure && (this.dirty.size > 0 || this.inFlight)) this.flush();
    } catch {
      // the failure was reported through onFailure
    } finally {
      this.closed = true;
      this.writer.close();
      this.db.close();
    }
  }
}

/** Results per stored row, at most. */
const RESULTS_PER_ROW = 16_384;
/** Results of one job committed per flush, at most. */
const RESULTS_PER_FLUSH = 4 * RESULTS_PER_ROW;
/**
 * Results a batch holds, at most, to be committed on the event loop (when the writer thread is
 * idle) rather than by the thread: a thread's wake-up and report cost a round trip ~0.2 ms more.
 */
const LOOP_COMMIT_MAX = 256;
/** Results waiting for the writer thread beyond which the event loop waits for its commit. */
const MAX_WAITING = 2 * RESULTS_PER_FLUSH;
/** A log with this many results pending marks itself dirty again (see markDirty). */
export const PENDING_MARK = RESULTS_PER_ROW;
