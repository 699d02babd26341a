/**
 * What a map accepts as its items: an array, an iterable (Set, generator, string) or an
 * array-like. Anything else is BAD_INPUT saying what it got, rather than an empty job.
 */
import { FlotillaError } from '../contract/errors.js';

/** The items as a list, or BAD_INPUT. */
export function itemList<T>(items: Iterable<T> | ArrayLike<T>): ArrayLike<T> {
  if (Array.isArray(items) || typeof items === 'string') return items;
  if (items !== null && typeof items === 'object') {
    if (typeof (items as Iterable<T>)[Symbol.iterator] === 'function') return Array.from(items as Iterable<T>);
    const n = (items as ArrayLike<T>).length;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return items as ArrayLike<T>;
  }
  throw new FlotillaError('BAD_INPUT', `items must be an array or another iterable (a Set, a generator...), got ${describe(items)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  if (typeof (v as PromiseLike<unknown>).then === 'function') return 'a Promise: await it first';
  if (typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return 'an async iterable: collect it first, e.g. with Array.fromAsync';
  const keys = Object.keys(v);
  return `an object that is neither${keys.length ? ` (keys ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''})` : ''}; for its values use Object.values(obj)`;
}
