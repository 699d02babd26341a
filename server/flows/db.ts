/**
 * The flow database (better-sqlite3, WAL): the stage-output cache, keyed by cache key (see
 * keys.ts), and the record of each flow (grid, stages, plan, units job), so a flow can be looked
 * up after a restart and a resubmitted flow reuses what earlier runs computed. Several processes
 * may share one file (embedded controllers of successive laptop runs): SQLite serializes them.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { privateDatabase } from '../private-files.js';
import { dirname } from 'node:path';
import type { Encoded } from '../../contract/codec.js';
import { readChunk, writeChunk } from '../store/chunk.js';
import { sqlite } from '../lazy.js';
import { migrate } from '../store/migrate.js';
import type { Schema } from '../store/migrate.js';

/** What a flow's record keeps: enough to rebuild its state from the cache and its units job. */
export interface FlowRecord {
  id: string;
  name: string | undefined;
  createdAt: number;
  /** The job of the flow's units; undefined when every row was cached. */
  jobId: string | undefined;
  state: 'running' | 'done' | 'cancelled';
  finishedAt: number | undefined;
  grid: Encoded;
  stages: { name: string; needs: string[] }[];
  /** Grid rows of each unit (task index = unit index). */
  units: number[][];
  /** keys[row][stage]. */
  keys: string[][];
  pool: string;
}

/** The flow database's migrations; see ../store/migrate.ts. */
export const FLOW_SCHEMA: Schema = {
  kind: 'flow database',
  migrations: [
    {
      version: 1,
      why: 'the stage-output cache and the record of each flow',
      up: (db) =>
        db.exec(`
CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flows (id TEXT PRIMARY KEY, name TEXT, created_at INTEGER NOT NULL, job_id TEXT,
  state TEXT NOT NULL, finished_at INTEGER, body BLOB NOT NULL);
`),
    },
  ],
};

export class FlowDb {
  private readonly db: Db;
  private readonly st: Record<'get' | 'put' | 'insertFlow' | 'setState' | 'flow' | 'flows', Statement>;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const Database = sqlite();
    privateDatabase(path); // grids and stage outputs: this user's only
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Another process may be writing (two runs sharing a cache folder): wait rather than fail.
    this.db.pragma('busy_timeout = 10000');
    try {
      migrate(this.db, path, FLOW_SCHEMA);
    } catch (err) {
      this.db.close();
      throw err;
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      get: p('SELECT value FROM cache WHERE key = ?'),
      put: p('INSERT OR REPLACE INTO cache (key, value, created_at) VALUES (?, ?, ?)'),
      insertFlow: p('INSERT INTO flows (id, name, created_at, job_id, state, finished_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      setState: p('UPDATE flows SET state = ?, finished_at = ? WHERE id = ?'),
      flow: p('SELECT * FROM flows WHERE id = ?'),
      flows: p('SELECT id, name, created_at, job_id, state, finished_at FROM flows ORDER BY created_at, rowid'),
    };
  }

  /** A cached stage output, encoded. */
  get(key: string): Encoded | undefined {
    const row = this.st.get.get(key) as { value: Buffer } | undefined;
    return row ? readChunk(row.value, (w, unpack) => unpack(w))[0] : undefined;
  }

  /** Stores stage outputs under their keys, in one transaction. */
  putMany(entries: readonly [key: string, value: Encoded][]): void {
    if (entries.length === 0) return;
    const now = Date.now();
    this.db.transaction(() => {
      for (const [key, value] of entries) this.st.put.run(key, writeChunk([value], (e, pack) => pack(e)), now);
    })();
  }

  insertFlow(r: FlowRecord): void {
    const body = writeChunk([r], (x, pack) => ({ grid: pack(x.grid), stages: x.stages, units: x.units, keys: x.keys, pool: x.pool }));
    this.st.insertFlow.run(r.id, r.name ?? null, r.createdAt, r.jobId ?? null, r.state, r.finishedAt ?? null, body);
  }

  setState(id: string, state: FlowRecord['state'], finishedAt: number | undefined): void {
    this.st.setState.run(state, finishedAt ?? null, id);
  }

  /** A flow's full record, or undefined. */
  flow(id: string): FlowRecord | undefined {
    const row = this.st.flow.get(id) as Record<string, any> | undefined;
    if (!row) return undefined;
    const [body] = readChunk(row.body as Buffer, (raw, unpack) => ({ ...raw, grid: unpack(raw.grid) }));
    return { id: row.id, name: row.name ?? undefined, createdAt: row.created_at, jobId: row.job_id ?? undefined, state: row.state, finishedAt: row.finished_at ?? undefined, ...body };
  }

  /** Every flow's summary, oldest first. */
  flows(): Pick<FlowRecord, 'id' | 'name' | 'createdAt' | 'jobId' | 'state' | 'finishedAt'>[] {
    return (this.st.flows.all() as Record<string, any>[]).map((r) => ({ id: r.id, name: r.name ?? undefined, createdAt: r.created_at, jobId: r.job_id ?? undefined, state: r.state, finishedAt: r.finished_at ?? undefined }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
