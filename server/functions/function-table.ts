/**
 * Where registered functions are kept: a table in the controller's SQLite database when it is
 * durable (so they survive a restart), nowhere but the registry's memory otherwise. The registry
 * holds every row in memory either way (functions are few); the table is written through.
 */
import type { Database } from 'better-sqlite3';
import type { FnSpec } from '../../contract/fnspec.js';
import { readChunk, writeChunk } from '../store/chunk.js';

/** One registered version of a function. */
export interface FunctionRow {
  name: string;
  /** The spec's content hash. */
  version: string;
  spec: FnSpec;
  /** When this version was last registered (ms since the epoch). */
  registeredAt: number;
  /** Registration order across the registry: the highest of a name is its latest version. */
  seq: number;
}

/** The registry's storage. */
export interface FunctionTable {
  /** Every stored row, in registration order. */
  load(): FunctionRow[];
  /** Inserts or replaces the row of (name, version). */
  put(row: FunctionRow): void;
  /** Deletes one version of a name, or all of them. */
  delete(name: string, version?: string): void;
}

/** A table that keeps nothing: the registry's memory is the store (a non-durable controller). */
export function memoryTable(): FunctionTable {
  return { load: () => [], put: () => {}, delete: () => {} };
}

/** The `functions` table in the controller's job database (created by its schema: server/store/job-schema.ts). */
export function sqliteTable(db: Database): FunctionTable {
  const put = db.prepare('INSERT OR REPLACE INTO functions (name, version, spec, registered_at, seq) VALUES (?, ?, ?, ?, ?)');
  const delOne = db.prepare('DELETE FROM functions WHERE name = ? AND version = ?');
  const delAll = db.prepare('DELETE FROM functions WHERE name = ?');
  const all = db.prepare('SELECT name, version, spec, registered_at, seq FROM functions ORDER BY seq');
  return {
    load: () =>
      (all.all() as { name: string; version: string; spec: Buffer; registered_at: number; seq: number }[]).map((r) => ({
        name: r.name,
        version: r.version,
        spec: readSpec(r.spec),
        registeredAt: r.registered_at,
        seq: r.seq,
      })),
    put: (row) => void put.run(row.name, row.version, writeSpec(row.spec), row.registeredAt, row.seq),
    delete: (name, version) => void (version === undefined ? delAll.run(name) : delOne.run(name, version)),
  };
}

// A spec's value globals may hold binary parts (a Float64Array global): the chunk format keeps
// them as bytes, where JSON would turn them into digits or lose them.
function writeSpec(spec: FnSpec): Buffer {
  return writeChunk([spec], (s, pack) => ({ ...s, vals: mapValues(s.vals, pack) }));
}

function readSpec(blob: Buffer): FnSpec {
  const [spec] = readChunk(blob, (raw: FnSpec & { vals: Record<string, never> }, unpack) => ({ ...raw, vals: mapValues(raw.vals, unpack) }));
  return spec!;
}

function mapValues<A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
