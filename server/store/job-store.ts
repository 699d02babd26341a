/**
 * The durable job store: jobs, their arguments and their results in one SQLite database
 * (better-sqlite3, WAL) in the controller's state folder. Arguments and results are written in
 * chunks (one row per submitted chunk, one row per flush of results), so a job of a million tiny
 * tasks costs thousands of rows, not millions. A result is committed before any client sees it:
 * after a crash, every result a client was shown is still here, and no task that finished is
 * run again.
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
import { FlotillaError } from '../../contract/errors.js';

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
  /** The counts to store once nothing is left to drain. */
  progress(): JobProgress;
  /** Called once what was drained is committed: it may be shown now. */
  publish(): void;
}

export class JobStore {
  private readonly db: Db;
  private readonly st: Record<'insertJob' | 'appendArgs' | 'setAppended' | 'argsAt' | 'insertResults' | 'progress' | 'resultsFrom' | 'allResults' | 'deleteJob' | 'deleteArgs' | 'deleteResults' | 'insertAgent' | 'deleteAgent' | 'cancel' | 'setTotal', Statement>;
  private readonly dirty = new Set<Flushing>();
  /** writePending in one transaction; made once, as better-sqlite3 builds a wrapper per transaction() call. */
  private readonly commit: (jobs: Flushing[]) => void;
  private flushScheduled = false;
  /** Jobs whose arguments go at the end of this flush or turn (dropArgs). */
  private drops: string[] = [];
  private readonly deleteArgs: (ids: string[]) => void;
  private closed = false;
  /** Why results can no longer be committed, once a commit failed. */
  private failure: FlotillaError | undefined;
  readonly path: string;
  /** Module artifacts, kept with the jobs that need them. */
  readonly artifacts: ArtifactTable;

  /**
   * `onFailure`: a commit of results failed (the error names the file and SQLite's reason). By
   * default it is thrown on the event loop: the controller stops rather than show results a
   * crash could lose, and a restart goes on from what was committed.
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
      insertJob: p('INSERT INTO jobs (id, pool, spec, total, appended, created_at) VALUES (?, ?, ?, ?, 0, ?)'),
      appendArgs: p('INSERT INTO args (job, first, count, body) VALUES (?, ?, ?, ?)'),
      setAppended: p('UPDATE jobs SET appended = ? WHERE id = ?'),
      argsAt: p('SELECT first, body FROM args WHERE job = ? AND first <= ? ORDER BY first DESC LIMIT 1'),
      insertResults: p('INSERT INTO results (job, seq, count, body) VALUES (?, ?, ?, ?)'),
      progress: p('UPDATE jobs SET done = ?, failed = ?, finished_at = ? WHERE id = ?'),
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
    this.commit = this.db.transaction((jobs: Flushing[]) => this.writePending(jobs));
    this.deleteArgs = this.db.transaction((ids: string[]) => {
      for (const id of ids) this.st.deleteArgs.run(id);
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

  /** A job has results to write: they are committed at the end of this turn of the event loop. */
  markDirty(job: Flushing): void {
    this.dirty.add(job);
    if (this.flushScheduled || this.failure) return;
    this.flushScheduled = true;
    setImmediate(() => {
      try {
        this.flush();
      } catch {
        // reported through onFailure
      }
    });
  }

  /**
   * Commits every job's pending results in one transaction, then lets them be shown. A job with
   * more than RESULTS_PER_FLUSH waiting (a cancel of millions) is committed over several turns
   * of the event loop, so other jobs and clients are served meanwhile; its row's counts are
   * written with its last part. A commit that fails is reported (onFailure) and throws here;
   * nothing it held is shown, and nothing is committed after it.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.failure) throw this.failure;
    if (this.dirty.size === 0 || this.closed) return;
    const jobs = [...this.dirty];
    this.dirty.clear();
    try {
      this.commit(jobs);
    } catch (err) {
      this.failure = storeFailure(this.path, (err as Error).message);
      this.onFailure(this.failure);
      throw this.failure;
    }
    for (const job of jobs) {
      job.publish();
      if (job.hasPending) this.markDirty(job);
    }
    // Jobs that finished with this commit no longer need their arguments: one transaction for all.
    this.dropNow();
  }

  /** Writes each job's pending results (inside `commit`'s transaction). */
  private writePending(jobs: Flushing[]): void {
    for (const job of jobs) {
      const p = job.drainPending(RESULTS_PER_FLUSH);
      // Rows of bounded size: one string per row stays far below V8's limit on string length.
      for (let at = 0; p && at < p.results.length; at += RESULTS_PER_ROW) {
        const part = p.results.length <= RESULTS_PER_ROW ? p.results : p.results.slice(at, at + RESULTS_PER_ROW);
        this.st.insertResults.run(job.jobId, p.seq + at, part.length, storedResults(part));
      }
      if (job.hasPending) continue;
      // Only a finished job's counts are read back (Job.restore counts an unfinished one's from
      // its rows): written once, not with every commit, which would write the jobs table's page
      // into the log each time. The cancelled flag is not among them: a cancel is written at once.
      const { done, failed, finishedAt } = job.progress();
      if (finishedAt !== undefined) this.st.progress.run(done, failed, finishedAt, job.jobId);
    }
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

  /**
   * Arguments of a finished job are no longer needed: deleted at the end of the flush that
   * finished it (with those of every job it finished, in one transaction, not one each), or of
   * this turn.
   */
  dropArgs(jobId: string): void {
    this.drops.push(jobId);
    if (this.drops.length > 1 || this.closed) return;
    setImmediate(() => this.dropNow());
  }

  private dropNow(): void {
    if (this.drops.length === 0 || this.closed) return;
    const ids = this.drops;
    this.drops = [];
    this.deleteArgs(ids);
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

  /** Commits what is pending, then closes (after a failed commit, what was not committed stays unshown: it was reported). */
  close(): void {
    if (this.closed) return;
    try {
      while (this.dirty.size > 0 && !this.failure) this.flush();
      this.dropNow();
    } catch {
      // reported through onFailure
    } finally {
      this.closed = true;
      this.db.close();
    }
  }
}

/** The error of a store that cannot commit results: which file, why, and what to do. */
export function storeFailure(path: string, reason: string): FlotillaError {
  return new FlotillaError(
    'INTERNAL',
    `the durable job store could not commit results to ${path}: ${reason}. Results not committed were not shown; ` +
      'fix the cause (disk space, permissions, another process locking the file) and start the controller again: jobs go on from what was committed',
  );
}

/** Results per stored row, at most. */
const RESULTS_PER_ROW = 16_384;
/** Results of one job committed per flush, at most. */
const RESULTS_PER_FLUSH = 4 * RESULTS_PER_ROW;
