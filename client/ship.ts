/**
 * Function shipping: turns a function and its explicit globals into a `FnSpec` that an agent
 * rebuilds with `materialize`. Everything that would fail remotely (a name the function uses but
 * was not given, a value that cannot travel) fails here, before anything is sent.
 */
import { encodeValue } from '../contract/codec.js';
import type { Encoded } from '../contract/codec.js';
import { FlotillaError, badInput } from '../contract/errors.js';
import { fnSpecId } from '../contract/fnspec.js';
import type { FnSpec, ModuleExportRef, SourceOrigin } from '../contract/fnspec.js';
import { STANDARD_GLOBALS, analyzeSource, isBindableName } from './free-names.js';
import type { FnAnalysis } from './free-names.js';
import { firstUserFrame, originOf } from './call-site.js';
import type { CallSite } from './call-site.js';
import { importedAs, isPackageSpecifier, moduleRefOf } from './module-refs.js';

/**
 * The call being shipped (set around a synchronous prepare). Its stack is formatted only when a
 * cache misses: a map in a loop pays for capturing it, not for reading it.
 */
let current: { site: CallSite; frame?: SourceOrigin | null } | undefined;

function callerFrame(): SourceOrigin | undefined {
  if (!current) return undefined;
  if (current.frame === undefined) current.frame = firstUserFrame(current.site) ?? null;
  return current.frame ?? undefined;
}

/**
 * Runs `f` (which ships functions) knowing where app code called: shipped sources then carry
 * their origin (remote stacks name the user's file and line), and globals imported by that file
 * from packages can travel by reference.
 */
export function shippingFrom<T>(site: CallSite | undefined, f: () => T): T {
  const outer = current;
  current = site ? { site } : undefined;
  try {
    return f();
  } finally {
    current = outer;
  }
}

// Where a function's source sits, by source text (the same text shipped again is found at
// once); and which globals are module exports, by value and name.
const ORIGINS_MAX = 256;
const origins = new Map<string, SourceOrigin | null>();
/** Specs of functions shipped without globals, by source text (shared: nobody changes a spec). */
const plainSpecs = new Map<string, FnSpec>();
const refsByValue = new WeakMap<object, Map<string, ModuleExportRef | null>>();

function cachedOrigin(source: string): SourceOrigin | undefined {
  let o = origins.get(source);
  if (o === undefined) {
    if (!current) return undefined;
    o = originOf(source, callerFrame()) ?? null;
    origins.set(source, o);
    if (origins.size > ORIGINS_MAX) origins.delete(origins.keys().next().value as string);
  }
  return o ?? undefined;
}

function cachedRef(name: string, value: unknown): ModuleExportRef | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  let byName = refsByValue.get(value);
  const hit = byName?.get(name);
  if (hit !== undefined) return hit ?? undefined;
  const ref = moduleRefOf(name, value, callerFrame());
  // Without a call site only builtins are known: do not remember a miss that a site could fix.
  if (ref || current) {
    if (!byName) refsByValue.set(value, (byName = new Map()));
    byName.set(name, ref ?? null);
  }
  return ref;
}

/** The helper esbuild (and so tsx) calls in transpiled code; every agent defines it. */
const NAME_HELPER = '__name';

/**
 * Turns `fn` into source text plus its globals, ready to send to agents.
 *
 * @param fn the function to run remotely: an arrow, a function expression or declaration, or a
 *   method (rewritten as a `function`); async and generator forms included.
 * @param globals names `fn` uses from outside itself. An export of a Node builtin or of an
 *   installed package (`readFileSync`, `path`, zod's `z`) travels as a reference that agents
 *   import; other functions travel as source (and may use one another and the value globals);
 *   anything else travels as a value (see `encodeValue`).
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
  // A function without globals ships as its text alone: a map in a loop (a new closure of the
  // same text each time) gets the spec made the first time, id and origin included.
  const plain = names.length === 0 && extra.retryIf === undefined && current !== undefined;
  const text = plain ? Function.prototype.toString.call(fn) : '';
  const hit = plain ? plainSpecs.get(text) : undefined;
  if (hit) return hit;
  for (const name of names) checkGlobalName(name);

  const refs: Record<string, ModuleExportRef> = {};
  for (const name of names) {
    const ref = cachedRef(name, globals[name]);
    if (ref) refs[name] = ref;
  }
  const placedAt: Record<string, SourceOrigin> = {};
  const placed = (key: string, f: Function) => {
    const o = cachedOrigin(Function.prototype.toString.call(f));
    if (o) placedAt[key] = o;
  };

  // Analyze every function before encoding any value: the name check is cheap, encoding is not.
  const main = analyzeFunction(fn, 'the function');
  placed('main', fn);
  const fns: Record<string, string> = {};
  const uses: Array<[string, FnAnalysis]> = [['the function', main]];
  let retryIf: string | undefined;
  if (extra.retryIf !== undefined) {
    if (typeof extra.retryIf !== 'function') badInput('retryIf', extra.retryIf, 'a function of the error');
    const a = analyzeFunction(extra.retryIf, 'retryIf');
    placed('retryIf', extra.retryIf);
    retryIf = a.src;
    uses.push(['retryIf', a]);
  }
  for (const name of names) {
    const value = globals[name];
    if (typeof value !== 'function' || refs[name]) continue;
    const a = analyzeFunction(value, `global "${name}"`);
    placed(`global:${name}`, value);
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
    problems.push(missingMessage(what, lacking, callerFrame(), what !== 'the function' && what !== 'retryIf'));
  }
  if (problems.length > 0) {
    throw new FlotillaError('BAD_INPUT', problems.join('; '), { context: { missing: [...missing].sort() } });
  }

  const vals: Record<string, Encoded> = {};
  for (const name of names) {
    const value = globals[name];
    if (typeof value === 'function' || refs[name]) continue;
    try {
      vals[name] = encodeValue(value, `global "${name}"`);
    } catch (err) {
      throw new FlotillaError('BAD_INPUT', `${(err as Error).message}; ${CANNOT_TRAVEL}`, { cause: err });
    }
  }
  const spec: Omit<FnSpec, 'id'> = retryIf === undefined ? { src: main.src, vals, fns } : { src: main.src, vals, fns, retryIf };
  if (Object.keys(refs).length > 0) spec.refs = refs;
  const id = fnSpecId(spec);
  if (Object.keys(placedAt).length > 0) spec.origins = placedAt;
  const shipped = { id, ...spec };
  if (plain) {
    plainSpecs.set(text, shipped);
    if (plainSpecs.size > ORIGINS_MAX) plainSpecs.delete(plainSpecs.keys().next().value as string);
  }
  return shipped;
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

/** What to do with a value that can neither be sent nor imported by reference. */
const CANNOT_TRAVEL =
  "if it comes from a module, import it inside the task instead (const { readFileSync } = await import('node:fs')), " +
  'or make the task a module function (moduleOf), whose imports are bundled';

function missingMessage(what: string, names: readonly string[], site: SourceOrigin | undefined, isGlobal: boolean): string {
  const quoted = names.map((n) => `"${n}"`);
  const list = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
  const one = names.length === 1;
  let msg = `${what} uses ${list}, which ${one ? 'is not a parameter, a local or a JavaScript global' : 'are not parameters, locals or JavaScript globals'}: ` +
    `pass ${one ? 'it' : 'them'} in globals, e.g. { globals: { ${names.join(', ')} } }`;
  const imports = names.map((n) => [n, importedAs(n, site)] as const).filter(([, b]) => b);
  for (const [n, b] of imports) {
    msg += isPackageSpecifier(b!.module)
      ? ` ("${n}" is imported from '${b!.module}': given in globals, it travels by reference and agents import it)`
      : ` ("${n}" is imported from the local file '${b!.module}': in globals it travels as source or value; if it needs that file's own imports, make the task a module function (moduleOf))`;
  }
  if (isGlobal) msg += `; ${CANNOT_TRAVEL}`;
  return msg;
}

