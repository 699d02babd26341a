/** Task duration estimates per function (server/fn-estimates.ts): newest value kept, least recently noted forgotten first. */
import { describe, expect, it } from 'vitest';
import { FnEstimates } from '../../server/fn-estimates.js';
import type { Job } from '../../server/job.js';

const job = (fn: string, ewmaMs: number | undefined) => ({ fn: { id: fn }, ewmaMs }) as unknown as Job;

describe('FnEstimates', () => {
  it('a function noted many times in a row keeps its newest estimate and its place as the most recent', () => {
    const e = new FnEstimates();
    e.note(job('a', 1));
    e.note(job('b', 2));
    for (let i = 0; i < 1000; i++) e.note(job('b', 3 + i)); // many single-task jobs of one function
    expect(e.of(job('b', undefined))).toBe(1002);
    e.note(job('a', 5)); // a is the newest now, b the oldest
    for (let i = 0; i < 1023; i++) e.note(job(`f${i}`, 1)); // the 1,025th function forgets the least recent
    expect(e.of(job('b', undefined))).toBe(Infinity);
    expect(e.of(job('a', undefined))).toBe(5);
    expect(e.of(job('a', 7))).toBe(7); // a job's own estimate comes first
  });
});
