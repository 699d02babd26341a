/**
 * A job composed of its task table, argument source and result log (no processes): in memory and
 * durable in SQLite on a temporary folder. Each result is recorded once, a durable one committed
 * before it is readable, a cancel stored at once, and a restart rebuilds the counts from the
 * stored results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeValue, encodeValue } from '../../contract/codec.js';
import type { FnSpec } from '../../contract/fnspec.js';
import { Job, QUEUED } from '../../server/job.js';
import type { JobSpec } from '../../server/job.js';
import { JobStore } from '../../server/store/job-store.js';

const dirs: string[] = [];
const stores: JobStore[] = [];
afterEach(() => {
  stores.splice(0).forEach((s) => s.close());
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-unit-job-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string): JobStore {
  const store = new JobStore(dir);
  stores.push(store);
  return store;
}

const fn: FnSpec = { id: 'f-unit', src: '(x) => x', vals: {}, fns: {} };
const spec = (total: number, id = 'j-unit'): JobSpec => ({ id, fn, pool: 'local', total, retries: 1, crashLimit: 3, timeoutMs: 0 });
const args = (from: number, n: number) => Array.from({ length: n }, (_, i) => encodeValue(from + i));

describe('job usage', () => {
  it('reports the usage of a one-task job and of a job of many alike (the first result is summarized once a second comes)', () => {
    const u = (durationUs: number) => [1000, 2000, durationUs, durationUs / 2, 4096] as [number, number, number, number, number];
    const one = new Job(spec(1, 'j-one'));
    one.append(0, args(0, 1));
    one.record({ index: one.take(), ok: true, value: encodeValue(0), attempt: 1, agentId: 'a-1', host: 'h', u: u(3000) });
    const usage = one.status().usage!;
    expect(usage.tasks).toBe(1);
    expect(usage.durationMs.max).toBe(3);
    expect(usage.cpuMs).toEqual({ total: 1.5, max: 1.5 });
    expect(usage.slowest).toEqual([{ index: 0, durationMs: 3, agentId: 'a-1', host: 'h' }]);

    const three = new Job(spec(3, 'j-three'));
    three.append(0, args(0, 3));
    for (const d of [1000, 5000, 2000]) three.record({ index: three.take(), ok: true, value: encodeValue(0), attempt: 1, agentId: 'a-1', host: 'h', u: u(d) });
    const all = three.status().usage!;
    expect(all.tasks).toBe(3);
    expect(all.busyMs).toBe(8);
    expect(all.slowest.map((s) => s.index)).toEqual([1, 2, 0]);
  });
});

describe.each([['in memory', false], ['durable', true]] as const)('job %s', (_name, durable) => {
  const make = (total: number) => {
    const store = durable ? open(tempDir()) : undefined;
    const job = new Job(spec(total), store);
    job.persist();
    return { job, commit: () => store?.flush() };
  };

  it('hands out arguments as they arrive, records each task once, and finishes once every result is readable', () => {
    const { job, commit } = make(3);
    const finished: number[] = [];
    job.signals.on('finished', (j) => finished.push(j.logLength));
    job.append(0, args(0, 2));
    expect(() => job.append(3, args(3, 1))).toThrow(/must continue at task 2/);
    const a = job.take();
    expect(decodeValue(job.arg(a))).toBe(0);
    expect(job.take()).toBe(1);
    expect(job.take()).toBe(-1);
    job.append(2, args(2, 1));
    expect(job.sealed).toBe(true);
    expect(job.take()).toBe(2);
    expect(job.record({ index: 0, ok: true, value: encodeValue('a'), attempt: 1 })).toBe(true);
    expect(job.record({ index: 0, ok: true, value: encodeValue('again'), attempt: 2 })).toBe(false);
    expect(() => job.arg(0)).toThrow(/no argument for task 0/);
    job.record({ index: 1, ok: false, error: { code: 'TASK_ERROR', message: 'no' } });
    job.record({ index: 2, ok: true, value: encodeValue('c') });
    commit();
    expect(job.status()).toMatchObject({ state: 'done', done: 3, failed: 1, running: 0, queued: 0 });
    expect(job.readLog(0, 10).map((r) => [r.index, r.ok && decodeValue(r.value)])).toEqual([[0, 'a'], [1, false], [2, 'c']]);
    expect(finished).toEqual([3]);
    // Late results (a stale run's) change nothing.
    expect(job.record({ index: 2, ok: true, value: encodeValue('late') })).toBe(false);
    expect(job.logLength).toBe(3);
  });

  it('fails what is left with one error: a range, queued tasks only, or all', async () => {
    const { job, commit } = make(6);
    job.append(0, args(0, 4));
    const running = job.take();
    const error = { code: 'CANCELLED' as const, message: 'never submitted' };
    expect(job.failRest(error, { from: job.appended })).toBe(2);
    expect(job.failRest({ code: 'LAUNCH_FAILED', message: 'no agents' }, { queuedOnly: true })).toBe(3);
    expect(job.state[running]).not.toBe(QUEUED);
    expect(job.finished).toBe(false);
    expect(job.failRest({ code: 'CLOSED', message: 'closing' })).toBe(1);
    commit();
    expect(job.finished).toBe(true);
    expect(job.readLog(0, 10).map((r) => [r.index, !r.ok && r.error.code])).toEqual([
      [4, 'CANCELLED'], [5, 'CANCELLED'], [1, 'LAUNCH_FAILED'], [2, 'LAUNCH_FAILED'], [3, 'LAUNCH_FAILED'], [0, 'CLOSED'],
    ]);
    expect(job.failRest(error)).toBe(0);
  });

  it('follows its log from an offset with watch, to the end', async () => {
    const { job, commit } = make(2);
    job.append(0, args(0, 2));
    const seen: number[] = [];
    const ended = new Promise<void>((resolve) => job.watch(0, (seq) => (seen.push(seq), seq === 2 && resolve())));
    job.record({ index: 1, ok: true, value: encodeValue(1) });
    commit();
    job.record({ index: 0, ok: true, value: encodeValue(0) });
    commit();
    await ended;
    expect(seen.at(-1)).toBe(2);
  });
});

describe('durable job', () => {
  it('shows a result only after it is committed', () => {
    const store = open(tempDir());
    const job = new Job(spec(2), store);
    job.persist();
    job.append(0, args(0, 2));
    job.record({ index: job.take(), ok: true, value: encodeValue(0) });
    expect(job.logLength).toBe(0);
    store.flush();
    expect(job.logLength).toBe(1);
  });

  it('stores a cancel at once, before any of its results', () => {
    const store = open(tempDir());
    const job = new Job(spec(2), store);
    job.persist();
    job.markCancelled();
    expect(store.jobs()[0]).toMatchObject({ id: 'j-unit', cancelled: true, done: 0 });
  });

  it('after a restart, rebuilds its counts from the stored results and runs only what did not finish', () => {
    const dir = tempDir();
    let store = open(dir);
    let job = new Job(spec(5), store);
    job.persist();
    job.append(0, args(0, 3));
    job.append(3, args(3, 2));
    for (let i = 0; i < 4; i++) job.take();
    job.record({ index: 1, ok: true, value: encodeValue('one') });
    job.record({ index: 3, ok: false, error: { code: 'TASK_ERROR', message: 'three' } });
    job.record({ index: 0, ok: true, value: encodeValue('zero') });
    store.close();
    stores.pop();

    store = open(dir);
    job = Job.restore(store.jobs()[0]!, store);
    expect(job.status()).toMatchObject({ state: 'running', done: 3, failed: 1, running: 0, queued: 2 });
    expect(job.logLength).toBe(3);
    const again = [job.take(), job.take(), job.take()];
    expect(again).toEqual([2, 4, -1]);
    expect(again.slice(0, 2).map((i) => decodeValue(job.arg(i)))).toEqual([2, 4]);
    job.record({ index: 4, ok: true, value: encodeValue('four') });
    job.record({ index: 2, ok: true, value: encodeValue('two') });
    store.flush();
    expect(job.finished).toBe(true);
    expect(job.readLog(0, 10).map((r) => r.index)).toEqual([1, 3, 0, 4, 2]);
    // Its arguments are gone from the store; its row says it is finished.
    expect(() => store.argsChunk('j-unit', 0)).toThrow(/no stored argument/);
    expect(store.jobs()[0]).toMatchObject({ done: 5, failed: 1, finishedAt: expect.any(Number) });

    store.close();
    stores.pop();
    store = open(dir);
    const restored = Job.restore(store.jobs()[0]!, store);
    expect(restored.status()).toMatchObject({ state: 'done', done: 5, failed: 1, queued: 0 });
    expect(restored.readLog(0, 10).map((r) => r.index)).toEqual([1, 3, 0, 4, 2]);
  });

  it('deletes the arguments of every job one commit finished in one transaction, not one each', () => {
    const store = open(tempDir());
    const jobs = ['j-a', 'j-b', 'j-c'].map((id) => {
      const job = new Job(spec(1, id), store);
      job.persist();
      job.append(0, args(0, 1));
      job.take();
      return job;
    });
    const deletes = vi.spyOn(store as unknown as { deleteArgs: (ids: string[]) => void }, 'deleteArgs');
    for (const job of jobs) job.record({ index: 0, ok: true, value: encodeValue('done') });
    store.flush();
    expect(jobs.every((j) => j.finished)).toBe(true);
    expect(deletes).toHaveBeenCalledTimes(1);
    expect(deletes).toHaveBeenCalledWith(['j-a', 'j-b', 'j-c']);
    for (const id of ['j-a', 'j-b', 'j-c']) expect(() => store.argsChunk(id, 0)).toThrow(/no stored argument/);
  });
});
