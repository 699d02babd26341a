import type { FlotillaError } from '../../client/index.js';

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(p: PromiseLike<unknown>): Promise<FlotillaError> {
  try {
    await p;
  } catch (err) {
    return err as FlotillaError;
  }
  throw new Error('expected a rejection');
}

/** Polls `cond` until it holds, failing after `ms`. For state owned by other processes. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
