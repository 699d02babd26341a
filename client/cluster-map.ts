/**
 * `clusterMap()`: the one-line form. It uses a shared embedded session (started on first use,
 * local agents on this machine) that closes by itself when the program has nothing else to do.
 */
import { defaultSession } from './default-session.js';
import { captureCallSite } from './call-site.js';
import type { MapOptions, TaskFn } from './session.js';
import type { MapJob } from './job.js';
import type { ModuleFunction } from './module/handle.js';
import type { TaskContext } from '../contract/task-context.js';

/**
 * Runs `fn` on every item on local agents and resolves with the values in input order.
 * Rejects with the first failure (by input order) once every task has finished.
 *
 * @example await clusterMap([1, 2, 3], (x) => x * x) // [1, 4, 9]
 * @example await clusterMap(rows, (r) => r.v * k, { globals: { k } })
 */
export async function clusterMap<T, R, S = unknown>(items: Iterable<T> | ArrayLike<T>, fn: TaskFn<T, R, NoInfer<Awaited<S>>> | ModuleFunction<(item: T, ctx: TaskContext<NoInfer<Awaited<S>>>) => R>, opts?: MapOptions<S>): Promise<Awaited<R>[]>;
export async function clusterMap(items: Iterable<unknown> | ArrayLike<unknown>, fn: TaskFn<unknown, unknown> | ModuleFunction, opts?: MapOptions): Promise<unknown[]> {
  // Captured before the first await, while the app's frames are still on the stack.
  const site = captureCallSite(clusterMap);
  const session = await defaultSession();
  const job: MapJob<unknown> = session.mapFrom(site, items, fn, opts);
  return await job;
}
