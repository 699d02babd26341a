/**
 * The rotation of jobs with queued tasks (server/job-queue.ts): round-robin, so a big job cannot
 * starve a small one; a job whose queue emptied drops out and comes back when activated again;
 * a job is in the rotation once however often it is activated.
 */
import { describe, expect, it } from 'vitest';
import { JobQueue } from '../../server/job-queue.js';
import type { Job } from '../../server/job.js';

/** A job as the rotation sees it: an id, a pool, how many tasks wait (settable here). */
interface Fake {
  id: string;
  pool: string;
  queued: number;
}
const job = (id: string, queued: number, pool = 'p'): Fake => ({ id, pool, queued });
const asJob = (f: Fake) => f as unknown as Job;
const fake = (j: Job) => j as unknown as Fake;

describe('JobQueue', () => {
  it('takes jobs round-robin, each once per turn however often it was activated', () => {
    const q = new JobQueue();
    const [a, b, c] = [job('a', 5), job('b', 5), job('c', 5)];
    for (const j of [a, b, a, c, b, a]) q.activate(asJob(j));
    expect(q.size).toBe(3);
    expect([1, 2, 3, 4, 5, 6].map(() => q.pick('p')?.id)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('drops a job whose queue emptied, and takes it again once re-activated', () => {
    const q = new JobQueue();
    const [a, b] = [job('a', 1), job('b', 3)];
    q.activate(asJob(a));
    q.activate(asJob(b));
    expect(q.pick('p')?.id).toBe('a');
    a.queued = 0;
    expect([q.pick('p')?.id, q.pick('p')?.id]).toEqual(['b', 'b']);
    expect(q.size).toBe(1);
    a.queued = 2;
    q.activate(asJob(a));
    expect([q.pick('p')?.id, q.pick('p')?.id]).toEqual(['b', 'a']);
  });

  it("skips other pools' jobs and removed ones, and keeps its order over many thousands of jobs", () => {
    const q = new JobQueue();
    const jobs = Array.from({ length: 20_000 }, (_, i) => job(`j${i}`, 1, i % 2 ? 'odd' : 'even'));
    jobs.forEach((j) => q.activate(asJob(j)));
    q.remove(asJob(jobs[1]!));
    expect(q.size).toBe(19_999);
    expect(q.backlog('odd')).toBe(9_999);
    const odd: string[] = [];
    for (let j = q.pick('odd'); j; j = q.pick('odd')) {
      odd.push(j.id);
      fake(j).queued = 0;
    }
    expect(odd).toEqual(jobs.filter((_, i) => i % 2 && i !== 1).map((j) => j.id));
    expect(q.pick('even')?.id).toBe('j0');
    expect(q.size).toBe(10_000);
  });
});
