/**
 * Regression tests of the artifact path that need no agents: the client's build cache when a
 * dependency changes, the controller's artifact store (hash checks, memory bound over SQLite),
 * the agent's cache folder (names are digests only, private modes).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../../server/store/migrate.js';
import { JOB_SCHEMA } from '../../server/store/job-schema.js';
import { buildModule } from '../../client/module/build.js';
import { ArtifactStore } from '../../server/artifacts.js';
import { ArtifactTable } from '../../server/store/artifact-table.js';
import { artifactFile, readCached, writeArtifact } from '../../agent/artifacts.js';

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A module whose helper returns `n`; files stamped `ageMs` in the past. */
function project(n: number, ageMs: number): { entry: string; helper: string } {
  const dir = tempDir('flotilla-build-');
  const entry = join(dir, 'entry.ts');
  const helper = join(dir, 'helper.ts');
  writeFileSync(entry, "import { k } from './helper.js';\nexport const f = () => k();\n");
  writeFileSync(helper, `export const k = () => ${n};\n`);
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(entry, t, t);
  utimesSync(helper, t, t);
  return { entry, helper };
}

describe('client build cache', () => {
  it('a changed dependency (same size, new mtime) is rebuilt, not served from the cache', async () => {
    const { entry, helper } = project(1, 60_000);
    const a = await buildModule(entry);
    expect(a.artifact.code).toContain('=> 1');
    expect(await buildModule(entry)).toBe(a); // settled files: cached
    writeFileSync(helper, 'export const k = () => 2;\n');
    const t = (Date.now() - 30_000) / 1000;
    utimesSync(helper, t, t);
    const b = await buildModule(entry);
    expect(b.artifact.code).toContain('=> 2');
    expect(b.artifact.hash).not.toBe(a.artifact.hash);
  });

  it('a build of files written just before it is not cached (an edit within one mtime tick would not show)', async () => {
    const { entry, helper } = project(3, 0);
    const before = statSync(helper);
    const a = await buildModule(entry);
    expect(a.artifact.code).toContain('=> 3');
    // Rewritten with the same size and, as on a coarse-grained file system, the same mtime.
    writeFileSync(helper, 'export const k = () => 4;\n');
    utimesSync(helper, before.atime, before.mtime);
    expect((await buildModule(entry)).artifact.code).toContain('=> 4');
  });
});

/** An in-memory job database, with its tables. */
function jobDatabase(): Database.Database {
  const db = new Database(':memory:');
  migrate(db, ':memory:', JOB_SCHEMA);
  return db;
}

describe('controller artifact store', () => {
  it('refuses code that does not hash to its name, and names that are not digests', () => {
    const store = new ArtifactStore();
    expect(() => store.put(sha('a'), 'b')).toThrow(/hashes to/);
    expect(() => store.put('../../etc/passwd', 'x')).toThrow(/not a sha256 hex digest/);
  });

  it('a durable store keeps memory under its budget and pages the rest from SQLite', () => {
    const db = jobDatabase();
    const store = new ArtifactStore(new ArtifactTable(db), 1000);
    const codes = Array.from({ length: 10 }, (_, i) => `export const v = ${i};${' '.repeat(300)}`);
    for (const c of codes) store.put(sha(c), c);
    expect(store.memoryBytes).toBeLessThanOrEqual(1000);
    for (const c of codes) expect(store.get(sha(c))).toBe(c); // the evicted ones come back from the table
    expect(store.memoryBytes).toBeLessThanOrEqual(1000);
    db.close();
  });

  it('a damaged row in the database is not handed out', () => {
    const db = jobDatabase();
    const table = new ArtifactTable(db);
    const code = 'export const v = 1;';
    table.put(sha(code), 'export const v = 2;');
    expect(new ArtifactStore(table).get(sha(code))).toBeUndefined();
    db.close();
  });
});

describe('agent artifact cache', () => {
  it('builds paths only from digests, so none can leave the cache folder', () => {
    expect(() => artifactFile('../../../../tmp/x')).toThrow(/not an artifact hash/);
    expect(() => artifactFile(`${'a'.repeat(64)}/../x`)).toThrow(/not an artifact hash/);
    expect(readCached('../x')).toBe(false);
  });

  it('keeps the cache folder private (0700) and its files 0600, narrowing an existing wide folder', () => {
    const base = tempDir('flotilla-cache-');
    const prev = process.env.FLOTILLA_CACHE_DIR;
    process.env.FLOTILLA_CACHE_DIR = base;
    try {
      mkdirSync(join(base, 'artifacts'));
      chmodSync(join(base, 'artifacts'), 0o777);
      const code = 'export const v = 1;\n';
      writeArtifact(sha(code), code);
      expect(statSync(join(base, 'artifacts')).mode & 0o777).toBe(0o700);
      expect(statSync(artifactFile(sha(code))).mode & 0o777).toBe(0o600);
      expect(readFileSync(artifactFile(sha(code)), 'utf8')).toBe(code);
      expect(() => writeArtifact(sha(code), code + ' ')).toThrow(/does not match its hash/);
    } finally {
      if (prev === undefined) delete process.env.FLOTILLA_CACHE_DIR;
      else process.env.FLOTILLA_CACHE_DIR = prev;
    }
  });
});
