/**
 * Function shipping: turns a function and its explicit globals into a `FnSpec` that an agent
 * rebuilds with `materialize`. Everything that would fail remotely (a name the function uses but
 * was not given, a value that cannot travel) fails here, before anything is sent.
 */
import { encodeValue } from '../agent/protocol/codec.js';
import type { Encoded } from '../agent/protocol/codec.js';
import { FlotillaError, badInput } from '../agent/protocol/errors.js';
import { fnSpecId } from '../agent/protocol/fnspec.js';
import type { FnSpec } from '../agent/protocol/fnspec.js';
import { STANDARD_GLOBALS, analyzeSource, isBindableName } from './free-names.js';
import type { FnAnalysis } from './free-names.js';

/** The helper esbuild (and so tsx) calls in transpiled code; every agent defines it. */
const NAME_HELPER = '__name';

/**
 * Turns `fn` into source text plus its globals, ready to send to agents.
 *
 * @param fn the function to run remotely: an arrow, a function expression or declaration, or a
 *   method (rewritten as a `function`); async and generator forms included.
 * @param globals names `fn` uses from outside itself. Functions travel as source (and may use one
 *   another and the value globals); anything else travels as a value (see `encodeValue`).
 * @throws FlotillaError `BAD_INPUT` when `fn` is not a shippable function, a global name is not
 *   an identifier, `fn` or a function global uses a name that is neither given nor a standard
 *   global, or a value global cannot be sent.
 */
export function shipFunction(fn: unknown, globals: Record<string, unknown> = {}, extra: { retryIf?: unknown } = {}): FnSpec {
  if (typeof fn !== 'function') badInput('the function to ship', fn, 'a function');
  if (globals === null || typeof globals !== 'object' || Array.isArray(globals)) {
    badInput('globals', globals, 'an object mapping names to values or functions, e.g. { k, fit }');
  }
  const names = Object.keys(globals).sort();
  for (const name of names) checkGlobalName(name);

  // Analyze every function before encoding any value: the name check is cheap, encoding is not.
  const main = analyzeFunction(fn, 'the function');
  const fns: Record<string, string> = {};
  const uses: Array<[string, FnAnalysis]> = [['the function', main]];
  let retryIf: string | undefined;
  if (extra.retryIf !== undefined) {
    if (typeof extra.retryIf !== 'function') badInput('retryIf', extra.retryIf, 'a function of the error');
    const a = analyzeFunction(extra.retryIf, 'retryIf');
    retryIf = a.src;
    uses.push(['retryIf', a]);
  }
  for (const name of names) {
    const value = globals[name];
    if (typeof value !== 'function') continue;
    const a = analyzeFunction(value, `global "${name}"`);
    fns[name] = a.src;
    uses.push([`global "${name}"`, a]);
  }
  const given = new Set(names);
  const problems: string[] = [];
  const missing = new Set<string>();
  for (const [what, a] of uses) {
    const lacking = a.free.filter((n) => !given.has(n) && !STANDARD_GLOBALS.has(n) && n !== NAME_HELPER);
    if (lacking.length === 0) continue;
    lacking.forEach((n) => missing.add(n));
    problems.push(missingMessage(what, lacking));
  }
  if (problems.length > 0) {
    throw new FlotillaError('BAD_INPUT', problems.join('; '), { context: { missing: [...missing].sort() } });
  }

  const vals: Record<string, Encoded> = {};
  for (const name of names) {
    const value = globals[name];
    if (typeof value !== 'function') vals[name] = encodeValue(value, `global "${name}"`);
  }
  const spec: Omit<FnSpec, 'id'> = retryIf === undefined ? { src: main.src, vals, fns } : { src: main.src, vals, fns, retryIf };
  return { id: fnSpecId(spec), ...spec };
}

function checkGlobalName(name: string): void {
  if (name === NAME_HELPER) {
    throw new FlotillaError('BAD_INPUT', `global "${name}" is reserved: agents define it for code transpiled by esbuild/tsx`);
  }
  if (!isBindableName(name)) {
    throw new FlotillaError('BAD_INPUT', `global ${JSON.stringify(name)} is not a valid JavaScript identifier (or is a reserved word), so the function could not refer to it`);
  }
}

function analyzeFunction(fn: Function, what: string): FnAnalysis {
  // The prototype's toString: a function may carry an own `toString` that prints something else.
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    if (fn.name.startsWith('bound ')) {
      throw new FlotillaError('BAD_INPUT', `${what} is a bound function (${fn.name}), whose source cannot be recovered: ship the original function and pass what was bound in globals`);
    }
    throw new FlotillaError('BAD_INPUT', `${what} is a built-in (native code${fn.name ? `: ${fn.name}` : ''}), whose source cannot be shipped: wrap it in an arrow, e.g. (x) => Math.sqrt(x)`);
  }
  return analyzeSource(source, what);
}

function missingMessage(what: string, names: readonly string[]): string {
  const quoted = names.map((n) => `"${n}"`);
  const list = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
  const one = names.length === 1;
  return `${what} uses ${list}, which ${one ? 'is not a parameter, a local or a JavaScript global' : 'are not parameters, locals or JavaScript globals'}: ` +
    `pass ${one ? 'it' : 'them'} in globals, e.g. { globals: { ${names.join(', ')} } }`;
}

