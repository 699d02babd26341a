/** What a registered function's name may be, checked alike by the client and the registry. */
import { FlotillaError } from './errors.js';
import { getFnNameSchema } from './option-schemas.js';

/**
 * Checks a function name with the shared schema.
 * @throws FlotillaError BAD_INPUT naming the bad name and saying what a name is
 */
export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new FlotillaError('BAD_INPUT', `a function name must be a string, got ${name === null ? 'null' : typeof name}`);
  const r = getFnNameSchema().safeParse(name);
  if (!r.success) throw new FlotillaError('BAD_INPUT', `function name ${JSON.stringify(name)} ${r.error.issues[0]?.message ?? 'is not valid'}`);
}
