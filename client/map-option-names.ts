/**
 * Map options are a closed set: a misspelt one (`progres`, `timeout`) is an error naming the
 * option it was most likely meant to be, not an option silently ignored.
 */
import { FlotillaError } from '../agent/protocol/errors.js';
import { nearestKey } from '../server/option-check.js';
import { mapOptionsSchema } from '../server/schemas.js';

/** Every option a map takes: the controller's scheduling options and the client's own. */
export const MAP_OPTION_NAMES: readonly string[] = [...Object.keys(mapOptionsSchema.shape), 'globals', 'signal', 'retryIf', 'setup', 'setupTimeoutMs', 'progress'];

/** Throws BAD_INPUT for a key of `opts` that is not a known option, suggesting the nearest one. */
export function checkMapOptionNames(opts: object, known: readonly string[] = MAP_OPTION_NAMES, what = 'map options'): void {
  if (typeof opts !== 'object' || opts === null) throw new FlotillaError('BAD_INPUT', `${what} must be an object, got ${opts === null ? 'null' : typeof opts}`);
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  const why = unknown.map((k) => {
    const near = nearestKey(k, known);
    return `${k} is not an option (${near ? `did you mean ${near}?` : `known: ${known.join(', ')}`})`;
  });
  throw new FlotillaError('BAD_INPUT', `${what}: ${why.join('; ')}`);
}
