/**
 * The schema of the job database (jobs.db in a durable controller's state folder): every table
 * in it, including those other parts of the controller keep there (artifacts, functions).
 */
import type { Schema } from './migrate.js';

/** The job database's migrations; see migrate.ts. */
export const JOB_SCHEMA: Schema = {
  kind: 'job database',
  migrations: [
    {
      version: 1,
      why: 'jobs, chunked arguments and results, agent keys, module artifacts, registered functions',
      up: (db) =>
        db.exec(`
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, pool TEXT NOT NULL, spec TEXT NOT NULL, total INTEGER NOT NULL,
  appended INTEGER NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER,
  cancelled INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS args (job TEXT NOT NULL, first INTEGER NOT NULL, count INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (job, first)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS results (job TEXT NOT NULL, seq INTEGER NOT NULL, count INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (job, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agents (id TEXT PRIMARY KEY, pool TEXT NOT NULL, public_key BLOB NOT NULL, issued_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS artifacts (hash TEXT PRIMARY KEY, code TEXT NOT NULL, stored_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS functions (
  name TEXT NOT NULL, version TEXT NOT NULL, spec BLOB NOT NULL, registered_at INTEGER NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (name, version)) WITHOUT ROWID;
`),
    },
    {
      version: 2,
      // Rows written before still read the same; an older controller would misread new rows,
      // so the version says they are there.
      why: 'a row of results may give a repeated error as the position of the earlier result that has it',
      up: () => {},
    },
    {
      version: 3,
      // As for version 2: rows written before still read, an older controller must not open the file.
      why: 'rows of results are written packed (server/store/packed-results.ts)',
      up: () => {},
    },
  ],
};
