/**
 * The result logs on their own (no processes): in memory, and in SQLite on a temporary folder.
 * Both are read from any offset and followed as they grow; the stored one shows a result only
 * once it is committed, commits a flood in parts, and reads old results back from the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeValue } from '../../contract/codec.js';
import { MemoryResultLog, readFrom, subscribe } from '../../server/jobs/result-log.js';
import type { LogBatch, ResultLog } from '../../server/jobs/result-log.js';
import type { TaskResult } from '../../server/jobs/types.js';
import { JobStore } from '../../server/store/job-store.js';
import { StoredResultLog } from '../../server/store/stored-result-log.js';

const stores: JobStore[] = [];
const dirs: string[] = [];
afterEach(() => {
  stores.splice(0).forEach((s) => s.close());
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function openStore(dir?: string): JobStore {
  if (!dir) dirs.push((dir = mkdtempSync(join(tmpdir(), 'flotilla-unit-log-'))));
  const store = new JobStore(dir);
  stores.push(store);
  return store;
}

const ok = (index: number): TaskResult => ({ index, ok: true, value: encodeValue(index * 10), attempt: 1 });
const bad = (index: number): TaskResult => ({ index, ok: false, error: { code: 'TASK_ERROR', message: `no ${index}` } });

/** Each kind of log, with the way to commit what was appended (nothing to do in memory). */
const kinds: [string, (total: number, committed?: () => void) => { log: ResultLog; commit: () => void }][] = [
  ['in memory', (_total, committed = () => {}) => ({ log: new MemoryResultLog({ committed }), commit: () => {} })],
  [
    'in SQLite',
    (total, committed = () => {}) => {
      const store = openStore();
      store.createJob({ id: 'j', pool: 'local', total, createdAt: 0, spec: { fn: { id: 'f', src: 'x => x', vals: {}, fns: {} }, retries: 0, crashLimit: 3, timeoutMs: 0 } });
      return { log: new StoredResultLog(store, 'j', total, committed), commit: () => store.flush() };
    },
  ],
];

async function collect(it: AsyncIterable<LogBatch>): Promise<LogBatch[]> {
  const out: LogBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe.each(kinds)('result log %s', (_name, make) => {
  it('reads from any offset, in batches that say where to resume, and a reader follows it to its end', async () => {
    const { log, commit } = make(5);
    const following = collect(readFrom(log, 0, { max: 2 }));
    for (let i = 0; i < 5; i++) log.append(i % 2 ? bad(i) : ok(i));
    commit();
    expect(log.length).toBe(5);
    expect(log.read(3, 10).map((r) => r.index)).toEqual([3, 4]);
    expect(log.read(5, 10)).toEqual([]);
    log.end();
    const batches = await following;
    expect(batches.flatMap((b) => b.results.map((r) => r.index))).toEqual([0, 1, 2, 3, 4]);
    expect(batches.at(-1)!.seq).toBe(5);
    expect((await collect(readFrom(log, 3))).map((b) => b.seq)).toEqual([5]);
    expect(log.read(1, 1)[0]).toMatchObject({ index: 1, ok: false, error: { code: 'TASK_ERROR', message: 'no 1' } });
  });

  it('calls an onChange listener once, after results are committed, and soon once the log has ended', async () => {
    const { log, commit } = make(3);
    const calls: number[] = [];
    log.onChange(() => calls.push(log.length));
    log.append(ok(0));
    log.append(ok(1));
    commit();
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([2]); // once for both, with both readable
    log.append(ok(2));
    commit();
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([2]); // a listener hears one change only
    log.end();
    const late = new Promise<number>((resolve) => log.onChange(() => resolve(log.length)));
    expect(await late).toBe(3);
  });

  it('calls its owner after each commit, then wakes its readers once for results recorded together', async () => {
    const events: string[] = [];
    const { log, commit } = make(2, () => events.push(`committed ${log.length}`));
    void log.changed().then(() => events.push('woken'));
    log.append(ok(0));
    log.append(ok(1));
    commit();
    await new Promise((r) => setImmediate(r));
    expect(events).toContain('committed 2');
    expect(events.at(-1)).toBe('woken');
    expect(events.filter((e) => e === 'woken')).toHaveLength(1);
  });

  it('hands a trimmed batch over whole-result by whole-result, never empty', async () => {
    const { log, commit } = make(4);
    for (let i = 0; i < 4; i++) log.append(ok(i));
    commit();
    log.end();
    const batches = await collect(readFrom(log, 0, { trim: () => 0 }));
    expect(batches.map((b) => b.results.length)).toEqual([1, 1, 1, 1]);
  });

  it('reads a batch only when the reader asks for it (backpressure)', async () => {
    const { log, commit } = make(3);
    let reads = 0;
    const counting: ResultLog = Object.create(log, { read: { value: (from: number, max: number) => (reads++, log.read(from, max)) } });
    for (let i = 0; i < 3; i++) log.append(ok(i));
    commit();
    const it = readFrom(counting, 0, { max: 1 });
    expect(reads).toBe(0);
    await it.next();
    expect(reads).toBe(1);
    await it.return();
    expect(reads).toBe(1);
  });

  it('stops a waiting reader when it goes away, and one told to stop once caught up', async () => {
    const { log, commit } = make(3);
    log.append(ok(0));
    commit();
    const gone = new AbortController();
    const until = new AbortController();
    const a = collect(readFrom(log, 0, { signal: gone.signal }));
    const b = collect(readFrom(log, 0, { until: until.signal }));
    await new Promise((r) => setImmediate(r));
    gone.abort();
    until.abort();
    expect((await a).map((x) => x.seq)).toEqual([1]);
    expect((await b).map((x) => x.seq)).toEqual([1]);
  });

  it('subscribes with a callback; a consumer that throws ends its own subscription only', async () => {
    const { log, commit } = make(4);
    const seen: number[] = [];
    const errors: unknown[] = [];
    const off = subscribe(log, 0, (seq) => seen.push(seq), undefined, 1);
    subscribe(log, 0, () => { throw new Error('consumer bug'); }, (err) => errors.push(err));
    log.append(ok(0));
    log.append(ok(1));
    commit();
    await new Promise((r) => setImmediate(r));
    off();
    log.append(ok(2));
    commit();
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([1, 2]);
    expect(errors).toEqual([expect.objectContaining({ message: 'consumer bug' })]);
  });
});

describe('result log in SQLite', () => {
  it('shows a result only once it is committed', async () => {
    const { log, commit } = kinds[1]![1](2);
    const it = readFrom(log, 0);
    const first = it.next();
    log.append(ok(0));
    expect(log.length).toBe(0);
    expect(log.read(0, 10)).toEqual([]);
    let got = false;
    void first.then(() => (got = true));
    await Promise.resolve();
    expect(got).toBe(false);
    commit();
    expect((await first).value).toMatchObject({ seq: 1, results: [{ index: 0 }] });
    await it.return();
  });

  it('commits a flood in parts, counts last, and reads old results back from the store', () => {
    const store = openStore();
    const total = 70_000;
    store.createJob({ id: 'big', pool: 'local', total, createdAt: 0, spec: { fn: { id: 'f', src: 'x => x', vals: {}, fns: {} }, retries: 0, crashLimit: 3, timeoutMs: 0 } });
    const log = new StoredResultLog(store, 'big', total, () => {});
    const error = { code: 'CANCELLED' as const, message: 'job cancelled' };
    for (let i = 0; i < total; i++) log.append({ index: i, ok: false, error });
    store.flush();
    // One part of at most 65,536 is committed; the job's row counts wait for the last part.
    expect(log.length).toBe(65_536);
    expect(log.hasPending).toBe(true);
    expect(store.jobs()[0]).toMatchObject({ done: 0, finishedAt: undefined });
    store.flush();
    expect(log.length).toBe(total);
    expect(store.jobs()[0]).toMatchObject({ done: total, failed: total, finishedAt: expect.any(Number) });
    // The oldest results are no longer in memory: read back from the store, shared error and all.
    expect(log.read(0, 3).map((r) => [r.index, !r.ok && r.error.message])).toEqual([[0, 'job cancelled'], [1, 'job cancelled'], [2, 'job cancelled']]);
    log.end();
    expect(log.read(69_999, 5).map((r) => r.index)).toEqual([69_999]);
  });

  it('a restored log goes on at the stored offset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-unit-log-'));
    dirs.push(dir);
    let store = openStore(dir);
    store.createJob({ id: 'j', pool: 'local', total: 3, createdAt: 0, spec: { fn: { id: 'f', src: 'x => x', vals: {}, fns: {} }, retries: 0, crashLimit: 3, timeoutMs: 0 } });
    let log = new StoredResultLog(store, 'j', 3, () => {});
    log.append(ok(2));
    log.append(bad(0));
    store.close();
    stores.pop();
    store = openStore(dir);
    expect([...store.recordedIndices('j')]).toEqual([[2, true], [0, false]]);
    log = new StoredResultLog(store, 'j', 3, () => {}, { length: 2, failed: 1 });
    log.append(ok(1));
    store.flush();
    // The stored part is read from the store, the new one from memory: a reader goes on across.
    log.end();
    expect((await collect(readFrom(log, 0))).flatMap((b) => b.results.map((r) => r.index))).toEqual([2, 0, 1]);
    expect(store.jobs()[0]).toMatchObject({ done: 3, failed: 1, finishedAt: expect.any(Number) });
  });
});
