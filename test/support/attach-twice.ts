/**
 * A check both transports must pass (embedded: client/local-mux.ts; remote: client/result-mux.ts):
 * a map and two attaches of its id in the same session each get every result, and an attach
 * after the job finished gets them all from the first.
 */
import { expect } from 'vitest';
import type { Session } from '../../client/session.js';
import { within } from './async.js';

export async function expectAttachedTwice(fl: Session): Promise<void> {
  const job = fl.map([1, 2, 3], (x: number) => new Promise<number>((r) => setTimeout(() => r(x * 10), 200)));
  const id = await job.id;
  const a = fl.attach<number>(id);
  const b = fl.attach<number>(id);
  const all = await within(Promise.all([job, a, b]), 30_000, 'the map and its two attaches');
  expect(all).toEqual([[10, 20, 30], [10, 20, 30], [10, 20, 30]]);
  expect(await within(Promise.resolve(fl.attach<number>(id)), 30_000, 'a late attach')).toEqual([10, 20, 30]);
}
