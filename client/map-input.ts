/**
 * A map's input made ready to send: its options checked (BAD_INPUT naming the bad one), its
 * function shipped, the first chunk of its items encoded.
 */
import { FlotillaError } from '../contract/errors.js';
import { MAP_SCHEDULING_KEYS, describeZodError, getMapOptionsSchema } from '../contract/option-schemas.js';
import { checkKnownKeys } from '../contract/options.js';
import type { MapSchedulingOptions } from '../contract/option-schemas.js';
import { encodeChunk } from './chunks.js';
import { shipFunction } from './ship.js';
import { isNamed } from './functions.js';
import type { NamedFn } from './functions.js';
import { Prebuilt, shipInline } from './module/prepare.js';
import { itemList } from './items.js';
import type { MapOptions, TaskFn } from './map-options.js';

/** A map ready to send: its scheduling options, its function, its items, their first chunk encoded. */
export type PreparedMap = ReturnType<typeof prepareMap>;

/**
 * Checks a map's options (BAD_INPUT naming the bad one), ships its function and encodes the first
 * chunk of its items, so an item that cannot be sent fails before anything is.
 */
export function prepareMap<T, R>(items: Iterable<T> | ArrayLike<T>, fn: TaskFn<T, R> | NamedFn | Prebuilt, opts: MapOptions) {
  if (opts === null || typeof opts !== 'object') throw new FlotillaError('BAD_INPUT', `map options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  // Most maps pass no option: nothing to check, split or parse (each a cost per map of its own).
  if (isEmpty(opts)) return prepared(items, fn, NO_OPTIONS.data, NO_SHIPPING);
  checkKnownKeys(opts, MAP_OPTION_KEYS, 'map option');
  const { globals, signal, retryIf, setup, setupTimeoutMs, progress, ...sched } = opts;
  checkProgress(progress);
  const parsed = isEmpty(sched) ? NO_OPTIONS : getMapOptionsSchema().safeParse(sched);
  if (!parsed.success) throw new FlotillaError('BAD_INPUT', describeZodError(parsed.error, 'map options'));
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new FlotillaError('BAD_INPUT', 'map option signal must be an AbortSignal');
  if (retryIf !== undefined && typeof retryIf !== 'function') throw new FlotillaError('BAD_INPUT', 'map option retryIf must be a function of the error, e.g. (err) => /ECONNRESET/.test(String(err))');
  return prepared(items, fn, parsed.data, { globals, retryIf, setup, setupTimeoutMs });
}

/** The options that shape how a function ships. */
type Shipping = Pick<MapOptions, 'globals' | 'retryIf' | 'setup' | 'setupTimeoutMs'>;
const NO_SHIPPING: Shipping = Object.freeze({});
const NO_GLOBALS = Object.freeze({});
const NO_EXTRA = Object.freeze({});

/** Ships the function and encodes the first chunk of the items. */
function prepared<T, R>(items: Iterable<T> | ArrayLike<T>, fn: TaskFn<T, R> | NamedFn | Prebuilt, sched: MapSchedulingOptions, o: Shipping) {
  const { globals, retryIf, setup, setupTimeoutMs } = o;
  const list = itemList(items);
  const fnSpec =
    fn instanceof Prebuilt
      ? fn.spec
      : isNamed(fn)
        ? fn
        : setup === undefined && setupTimeoutMs === undefined
          ? shipFunction(fn, globals ?? NO_GLOBALS, retryIf === undefined ? NO_EXTRA : { retryIf })
          : shipInline(fn, { globals, retryIf, setup, setupTimeoutMs });
  // The first chunk is encoded now, so an item that cannot be sent fails before anything is.
  const first = encodeChunk(list, 0);
  return { sched, fn: fnSpec, list, first };
}

const NO_OPTIONS = { success: true as const, data: {} as MapSchedulingOptions };

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** Every key a map's options may have. */
const MAP_OPTION_KEYS: readonly string[] = [...MAP_SCHEDULING_KEYS, 'globals', 'signal', 'retryIf', 'setup', 'setupTimeoutMs', 'progress'];

/** Checks the `progress` option of a map or an attach. */
export function checkProgress(progress: unknown): void {
  if (progress !== undefined && typeof progress !== 'boolean' && typeof progress !== 'function') {
    throw new FlotillaError('BAD_INPUT', `map option progress must be true, false or a function of the figures ({ done, failed, total, rate, etaMs, elapsedMs }), got ${typeof progress}`);
  }
}
