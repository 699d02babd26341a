/**
 * The handle map() returns (client/job.ts), settled without a stream or waiter of its own: its
 * values once every outcome is in, its id once submitted, and a failure that nobody awaited yet
 * neither goes unhandled nor is lost to a later await.
 */
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../contract/errors.js';
import { MapJob } from '../../client/job.js';

describe('MapJob', () => {
  it('resolves with values in input order once the last outcome arrives; its id once submitted', async () => {
    const job = new MapJob<number>(async () => {});
    const id = job.id;
    job.started('j-1', 2);
    job.push([{ index: 1, ok: true, value: 20 }]);
    job.push([{ index: 1, ok: true, value: 99 }, { index: 0, ok: true, value: 10 }]); // a repeat is ignored
    expect(await id).toBe('j-1');
    expect(await job).toEqual([10, 20]);
    const seen: number[] = [];
    for await (const o of job) if (o.ok) seen.push(o.value);
    expect(seen).toEqual([20, 10]);
  });

  it('a job that fails before it is awaited raises no unhandled rejection and still rejects a later await', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const job = new MapJob<number>(async () => {});
      job.fail(new FlotillaError('BAD_INPUT', 'refused'));
      await new Promise((r) => setImmediate(r));
      await expect(job).rejects.toThrow('refused');
      await expect(job.id).rejects.toThrow('refused');
      await job.cancel(); // never submitted: nothing to cancel
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a failed task rejects the job with the first failure, every outcome attached', async () => {
    const job = new MapJob<number>(async () => {});
    job.started('j-2', 2);
    job.push([{ index: 0, ok: true, value: 1 }, { index: 1, ok: false, error: new FlotillaError('TASK_ERROR', 'boom') }]);
    const err = (await job.then(() => undefined, (e: unknown) => e)) as FlotillaError & { outcomes: unknown[] };
    expect(err.code).toBe('TASK_ERROR');
    expect(err.message).toMatch(/1 of 2 task\(s\) failed; first, task 1: boom/);
    expect(err.outcomes).toHaveLength(2);
  });
});
