/**
 * The durable store's writer thread: rows of results are inserted and committed on a thread of
 * their own, with its own SQLite connection to the same file, so a busy controller's event loop
 * only packs rows and hands them over (their buffers are moved, not copied). One batch is in
 * flight at a time: results recorded meanwhile wait for the next batch (one commit for all of
 * them). A batch is reported committed through shared memory (for a caller that must wait,
 * Atomics.wait) and a message (for the event loop).
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { FlotillaError } from '../../contract/errors.js';
import { WRITER_SOURCE } from './writer-thread.js';

/** A row of the results table: job, seq, count, packed body. */
export type ResultRow = [job: string, seq: number, count: number, body: Uint8Array];
/** A finished job's counts: done, failed, finished_at, job. */
export type CountsRow = [done: number, failed: number, finishedAt: number, job: string];

/** Slots of the shared state: the last committed batch, and 1 once the writer has failed. */
const COMMITTED = 0, FAILED = 1;

/** How long a caller that must wait (close, backpressure, an explicit flush) waits for a commit. */
const WAIT_MS = 60_000;

export class ResultWriter {
  private readonly worker: Worker;
  /** Where the thread posts why it failed: readable at once by a caller blocked in waitFor. */
  private readonly errors: MessagePort;
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private failure: FlotillaError | undefined;
  private closed = false;

  /**
   * `committed(id)` runs on the event loop once batch `id` is committed; `failed(err)` once if the
   * writer cannot commit (the error names the database and SQLite's reason).
   */
  constructor(
    private readonly path: string,
    private readonly committed: (id: number) => void,
    private readonly failed: (err: FlotillaError) => void,
  ) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const { port1, port2 } = new MessageChannel();
    this.errors = port1;
    this.worker = new Worker(WRITER_SOURCE, { eval: true, workerData: { path, sqlite, state: this.state.buffer, errors: port2 }, transferList: [port2] });
    this.worker.unref();
    this.errors.on('message', (reason: string) => this.fail(reason));
    this.errors.unref(); // after the listener, which refs the port
    this.worker.on('message', (id: number) => this.committed(id));
    this.worker.on('error', (err) => this.fail(err.message));
    this.worker.on('exit', (code) => this.closed || this.fail(`the writer thread exited (code ${code})`));
  }

  /** Hands batch `id` to the thread; the rows' buffers are moved there (unusable here afterwards). */
  write(id: number, rows: ResultRow[], counts: CountsRow[]): void {
    if (this.failure) throw this.failure;
    // Held while a batch is in flight: the process must not exit before it reports.
    this.worker.ref();
    // A body that shares its memory (a pooled Buffer) is copied: moving it would take the rest away.
    const moved = rows.map((r) => {
      if (r[3].byteOffset !== 0 || r[3].byteLength !== r[3].buffer.byteLength || !(r[3].buffer instanceof ArrayBuffer)) r[3] = new Uint8Array(r[3]);
      return r[3].buffer as ArrayBuffer;
    });
    this.worker.postMessage({ id, rows, counts }, moved);
  }

  /** The thread is idle (nothing in flight): the process may exit. */
  idle(): void {
    this.worker.unref();
  }

  /** Blocks until batch `id` is committed; throws if the writer failed or took over WAIT_MS. */
  waitFor(id: number): void {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      if (this.failure) throw this.failure;
      const done = Atomics.load(this.state, COMMITTED);
      if (done >= id) return;
      if (Atomics.load(this.state, FAILED) === 1) {
        // The thread's reason is still queued for the event loop: take it now.
        this.fail(String(receiveMessageOnPort(this.errors)?.message ?? 'the writer thread failed'));
        throw this.failure!;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.fail(`no commit within ${WAIT_MS / 1000} s`);
        throw this.failure!;
      }
      Atomics.wait(this.state, COMMITTED, done, left);
    }
  }

  /** Ends the thread (after the last batch was waited for). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.errors.close();
    void this.worker.terminate();
  }

  private fail(reason: string): void {
    if (this.failure || this.closed) return;
    this.failure = storeFailure(this.path, reason);
    this.failed(this.failure);
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
