/**
 * Rows of the durable store: results and argument chunks are written packed and read back as
 * they were recorded, whatever they hold; a job database written before rows were packed
 * (fixtures/version-2, by an older release's store) opens at the current schema version, its
 * rows read as they were written, and an unfinished job of it takes new rows beside its old ones.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../contract/codec.js';
import type { TaskResult } from '../../server/jobs/types.js';
import { JobStore } from '../../server/store/job-store.js';
import { JOB_SCHEMA } from '../../server/store/job-schema.js';
import { latestVersion } from '../../server/store/migrate.js';
import { readStoredResults, storedIndices, storedResults } from '../../server/store/result-rows.js';
import { packArgs, unpackArgs } from '../../server/store/packed-args.js';
import { StoredResultLog } from '../../server/store/stored-result-log.js';
import { ByteReader, ByteWriter } from '../../server/store/bytes.js';
import { JOB, ORDER, RECORDED, TOTAL, argument, result } from './fixtures/version-2/data.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'version-2', 'jobs.db');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'flotilla-rows-'));
  dirs.push(d);
  return d;
};

/** A result as data.ts gives it, with its value encoded as the controller records it. */
const recorded = (i: number): TaskResult => {
  const r = result(i);
  return r.ok ? { ...r, value: encodeValue(r.value) } : (r as TaskResult);
};
/** A stored result with its value decoded, to compare with data.ts. */
const decoded = (r: TaskResult) => (r.ok ? { ...r, value: decodeValue(r.value) } : r);

describe('packed rows', () => {
  it('results of every kind read back as recorded: rich and binary values, errors shared or not, attempts, agents, hosts, timings', () => {
    const rows = ORDER.map(recorded);
    rows.push({ index: 2 ** 40, ok: true, value: encodeValue(null) }, { index: 41, ok: false, error: { code: 'TASK_ERROR', message: 'ünïcødé ✓', context: { deep: [1, { a: 'b' }] } } });
    const back = readStoredResults(storedResults(rows));
    expect(back).toEqual(rows);
    expect(back.map(decoded)).toEqual([...ORDER.map(result), { index: 2 ** 40, ok: true, value: null }, rows.at(-1)]);
    // A cancel's error is written once and read back as one object, as recorded.
    const cancels = back.filter((r) => !r.ok && r.error.code === 'CANCELLED');
    expect(cancels.length).toBeGreaterThan(2);
    expect(new Set(cancels.map((r) => !r.ok && r.error)).size).toBe(1);
    expect([...storedIndices(storedResults(rows))]).toEqual(rows.map((r) => [r.index, r.ok]));
  });

  it('arguments of every kind read back as submitted', () => {
    const args = Array.from({ length: TOTAL }, (_, i) => encodeValue(argument(i)));
    const back = unpackArgs(packArgs(args));
    expect(back.map((e) => decodeValue(e))).toEqual(args.map((_, i) => argument(i)));
  });

  it('a packed row cut short fails its reader with a message naming the damage, wherever it is cut', () => {
    const rows = storedResults(ORDER.map(recorded));
    const args = packArgs(Array.from({ length: TOTAL }, (_, i) => encodeValue(argument(i))));
    for (let n = 5; n < rows.length; n++) expect(() => readStoredResults(rows.subarray(0, n))).toThrow(/damaged stored chunk/);
    for (let n = 5; n < args.length; n++) expect(() => unpackArgs(args.subarray(0, n))).toThrow(/damaged stored chunk/);
  });
});

describe('varints of packed rows', () => {
  it('read back every non-negative safe integer written, and refuse a negative, fractional or unsafe one rather than store other bytes', () => {
    const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1];
    const w = new ByteWriter();
    for (const v of values) w.uint(v);
    const bytes = w.bytes();
    const r = new ByteReader(bytes, 0, bytes.length);
    expect(values.map(() => r.uint())).toEqual(values);
    for (const bad of [-1, 0.5, 2 ** 53, Number.NaN]) expect(() => new ByteWriter().uint(bad)).toThrow(/not a non-negative safe integer/);
  });
});

describe('a job database written before rows were packed', () => {
  it('opens at the current version; its results, timings, task states and arguments read as written', () => {
    const dir = tempDir();
    copyFileSync(FIXTURE, join(dir, 'jobs.db'));
    const store = new JobStore(dir);
    try {
      expect(store.database.pragma('user_version', { simple: true })).toBe(latestVersion(JOB_SCHEMA));
      expect(store.jobs()).toMatchObject([{ id: JOB, total: TOTAL, done: RECORDED }]);
      expect(store.readResults(JOB, 0, 100).map(decoded)).toEqual(ORDER.map(result));
      expect([...store.recordedIndices(JOB)]).toEqual(ORDER.map((i) => [i, result(i).ok]));
      for (const i of [0, 19, 20, 39]) {
        const { first, args } = store.argsChunk(JOB, i);
        expect(decodeValue(args[i - first]!)).toEqual(argument(i));
      }
    } finally {
      store.close();
    }
  });

  it('an unfinished job takes packed rows beside its old ones, and after a restart of the store reads all in order', () => {
    const dir = tempDir();
    copyFileSync(FIXTURE, join(dir, 'jobs.db'));
    let store = new JobStore(dir);
    const failed = ORDER.filter((i) => !result(i).ok).length;
    const log = new StoredResultLog(store, JOB, TOTAL, () => {}, { length: RECORDED, failed });
    const rest = Array.from({ length: TOTAL - RECORDED }, (_, k) => recorded(RECORDED + k));
    for (const r of rest) log.append(r);
    store.flush();
    store.close();

    store = new JobStore(dir);
    try {
      const raw = new Database(join(dir, 'jobs.db'), { readonly: true });
      const bodies = raw.prepare('SELECT body FROM results WHERE job = ? ORDER BY seq').all(JOB) as { body: Buffer }[];
      raw.close();
      expect(bodies.map((b) => b.body.readUInt32LE(0) === 0xffffffff)).toEqual([false, false, false, true]);
      const expected = [...ORDER, ...rest.map((r) => r.index)].map(result);
      expect(store.readResults(JOB, 0, 100).map(decoded)).toEqual(expected);
      expect(store.readResults(JOB, RECORDED - 2, 4).map(decoded)).toEqual(expected.slice(RECORDED - 2, RECORDED + 2));
      expect([...store.recordedIndices(JOB)].length).toBe(TOTAL);
      expect(store.jobs()[0]).toMatchObject({ done: TOTAL, failed: failed + rest.filter((r) => !r.ok).length });
    } finally {
      store.close();
    }
  });
});
