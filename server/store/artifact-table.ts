/**
 * Module artifacts in the durable store's SQLite database, so a job that resumes after a restart
 * still has the code its agents need. The table is created by the job database's schema (job-schema.ts).
 */
import type { Database as Db, Statement } from 'better-sqlite3';

export class ArtifactTable {
  private readonly st: Record<'put' | 'get' | 'has', Statement>;

  constructor(db: Db) {
    this.st = {
      put: db.prepare('INSERT OR IGNORE INTO artifacts (hash, code, stored_at) VALUES (?, ?, ?)'),
      get: db.prepare('SELECT code FROM artifacts WHERE hash = ?'),
      has: db.prepare('SELECT 1 FROM artifacts WHERE hash = ?'),
    };
  }

  put(hash: string, code: string): void {
    this.st.put.run(hash, code, Date.now());
  }

  get(hash: string): string | undefined {
    return (this.st.get.get(hash) as { code: string } | undefined)?.code;
  }

  has(hash: string): boolean {
    return this.st.has.get(hash) !== undefined;
  }
}
