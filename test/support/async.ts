/**
 * Waiting helpers shared by every test folder: deferred promises and bounded waits, no sleeps.
 * Every bound here is scaled (test/support/timing.ts): it catches a stuck wait, whatever the load.
 */
import type { FlotillaError } from '../../client/index.js';
import { scaled } from './timing.js';

/** A promise with its settle functions outside. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Bounds a wait that should end on an event, so a regression fails with a message instead of
 * eating the whole test timeout. Not a sleep: it resolves as soon as `p` does. `what` may be a
 * function, to describe the state at the moment the wait fails.
 */
export async function within<T>(p: Promise<T>, bound: number, what: string | (() => string)): Promise<T> {
  const ms = scaled(bound);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${typeof what === 'function' ? what() : what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(p: PromiseLike<unknown>): Promise<FlotillaError> {
  try {
    await p;
  } catch (err) {
    return err as FlotillaError;
  }
  throw new Error('expected a rejection');
}

/**
 * The pause before the n-th look of a poll: 10 ms, growing to 100 ms, so a long wait on a busy
 * machine does not add to its load while a short one still ends promptly.
 */
export function pollDelay(n: number): number {
  return Math.min(100, Math.round(10 * 1.5 ** n));
}

/** Polls `cond` until it holds, failing after `ms`. For state owned by other processes. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + scaled(ms);
  for (let n = 0; !(await cond()); n++) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, pollDelay(n)));
  }
}
