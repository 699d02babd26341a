/**
 * Schema versions of the controller's SQLite files. Each file declares an ordered list of
 * migrations; its version is SQLite's `PRAGMA user_version`. Opening a file runs the migrations
 * it has not had, in one transaction that also sets the new version, so a crash mid-upgrade
 * leaves the old file untouched. A file written by a newer release is refused, never misread.
 * A migration, once released, is never edited: a change to a table is a new migration.
 */
import type { Database as Db } from 'better-sqlite3';
import { FlotillaError } from '../../contract/errors.js';

/** One step of a file's schema: applied to a file at version `version - 1`. */
export interface Migration {
  /** 1, 2, 3, ...: the version the file has once this step ran. */
  readonly version: number;
  /** What changed, for the record. */
  readonly why: string;
  readonly up: (db: Db) => void;
}

/** What one kind of file is, and how its schema grew. */
export interface Schema {
  /** What the file holds, for messages: "job database". */
  readonly kind: string;
  /** In order of version, from 1. */
  readonly migrations: readonly Migration[];
}

/** The newest version a schema knows. */
export function latestVersion(schema: Schema): number {
  return schema.migrations.length;
}

/**
 * Brings `db` (the file `file`) to the schema's latest version. A file at version 0 is new or was
 * written before files carried a version; version 1 creates its tables only where missing, so an
 * older release's file is taken as it stands. Throws VERSION_SKEW for a file from a newer release.
 * @returns the version the file had when opened.
 */
export function migrate(db: Db, file: string, schema: Schema): number {
  schema.migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${schema.kind} migrations out of order: ${m.version} at position ${i + 1}`);
  });
  const latest = latestVersion(schema);
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const check = (v: number) => {
    if (v > latest) {
      throw new FlotillaError(
        'VERSION_SKEW',
        `${file}: this ${schema.kind} has schema version ${v}, but this flotilla supports versions up to ${latest}; it was written by a newer flotilla. Upgrade flotilla to open it, or use another state folder.`,
        { context: { file, version: v, supported: latest } },
      );
    }
    return v;
  };
  const found = check(version());
  if (found === latest) return found;
  // IMMEDIATE: another process opening the same file (a shared flow cache) waits, then sees our version.
  db.transaction(() => {
    for (const m of schema.migrations.slice(check(version()))) m.up(db);
    db.pragma(`user_version = ${latest}`);
  }).immediate();
  return found;
}
