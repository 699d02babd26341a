/**
 * A session's runner with a controller whose answers come in any order: a submission's first
 * results may arrive on the session's stream before the submission's own answer (both travel on
 * one socket, and a fast task can finish first). No job loses a result to that.
 */
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../../contract/codec.js';
import type { FeedPart } from '../../contract/session-schemas.js';
import { MapJob } from '../../client/job.js';
import { MapRunner } from '../../client/map-runner.js';
import { prepareMap } from '../../client/map-input.js';
import type { HotPath } from '../../client/transport.js';

/** A controller reached in process that sends each job's results before answering its submit. */
function resultsFirst(): HotPath {
  let deliver: (parts: FeedPart[]) => void = () => {};
  let n = 0;
  const refuse = () => Promise.reject(new Error('not used'));
  return {
    submit: refuse,
    append: refuse,
    watch: () => () => {},
    mux: {
      submit: async (_stream, jobs) => {
        const answers = jobs.map((j) => ({ jobId: `j${n++}`, total: j.total ?? j.args.length }));
        // Every result, with each job's total, before the answer to the submit.
        deliver(answers.map((a, i) => ({ jobId: a.jobId, seq: a.total, total: a.total, pool: 'p', results: jobs[i]!.args.map((_, index) => ({ index, ok: true as const, value: encodeValue(index * 10) })) })));
        await new Promise((r) => setImmediate(r));
        return answers.map((a) => ({ ...a, sent: a.total }));
      },
      follow: async () => [],
      open: (_stream, on) => {
        deliver = on.data;
        on.started();
        return () => {};
      },
    },
  };
}

describe('MapRunner', () => {
  it('keeps results that arrive before their submission is answered', async () => {
    const runner = new MapRunner(resultsFirst(), async () => {});
    const jobs = [3, 1, 2].map((k) => {
      const job = new MapJob<number>(async () => {});
      void runner.run(job, prepareMap(Array.from({ length: k }, (_, i) => i), (x: number) => x, {}), undefined);
      return job;
    });
    expect(await Promise.all(jobs)).toEqual([[0, 10, 20], [0], [0, 10]]);
    runner.close(new (await import('../../contract/errors.js')).FlotillaError('CLOSED', 'done'));
  });

  it('appends the arguments a shared submission could not carry: a map sized for one message still gets all its results', async () => {
    // A controller whose submission takes half of each job's first arguments, as a submission
    // shared with other maps may; the rest must come by append.
    let deliver: (parts: FeedPart[]) => void = () => {};
    const got = new Map<string, number>();
    const totals = new Map<string, number>();
    let n = 0;
    const feed = (jobId: string, from: number, count: number) => {
      const have = (got.get(jobId) ?? 0) + count;
      got.set(jobId, have);
      const total = totals.get(jobId)!;
      setImmediate(() => deliver([{ jobId, seq: have, total, pool: 'p', results: Array.from({ length: count }, (_, i) => ({ index: from + i, ok: true as const, value: encodeValue((from + i) * 10) })) }]));
    };
    const hot: HotPath = {
      submit: () => Promise.reject(new Error('not used')),
      append: async ({ jobId, offset, args }) => {
        feed(jobId, offset, args.length);
        return { sent: args.length };
      },
      watch: () => () => {},
      mux: {
        submit: async (_stream, jobs) =>
          jobs.map((j) => {
            const jobId = `j${n++}`;
            const total = j.total ?? j.args.length;
            const sent = Math.ceil(j.args.length / 2);
            totals.set(jobId, total);
            feed(jobId, 0, sent);
            return { jobId, total, sent };
          }),
        follow: async () => [],
        open: (_stream, on) => {
          deliver = on.data;
          on.started();
          return () => {};
        },
      },
    };
    const runner = new MapRunner(hot, async () => {});
    const job = new MapJob<number>(async () => {});
    void runner.run(job, prepareMap([0, 1, 2, 3, 4], (x: number) => x, {}), undefined);
    expect(await job).toEqual([0, 10, 20, 30, 40]);
    expect(got.get('j0')).toBe(5);
    runner.close(new (await import('../../contract/errors.js')).FlotillaError('CLOSED', 'done'));
  });
});
