/**
 * Reads a function's source: normalizes it into an expression that evaluates to the function,
 * and finds the names it uses but does not define (its free names), so a missing global is
 * reported on the client instead of as a ReferenceError on a remote agent.
 */
import { createRequire } from 'node:module';
import type { Expression, Literal, Node, Options, Program } from 'acorn';
import { FlotillaError } from '../contract/errors.js';
import { quickAnalysis } from './quick-free-names.js';

// The parser and scope analysis load on the first function shipped, not with the library.
const require = createRequire(import.meta.url);
let parser: { parse: typeof import('acorn').parse; simple: typeof import('acorn-walk').simple; analyze: typeof import('eslint-scope').analyze } | undefined;
function tools(): NonNullable<typeof parser> {
  return (parser ??= {
    parse: (require('acorn') as typeof import('acorn')).parse,
    simple: (require('acorn-walk') as typeof import('acorn-walk')).simple,
    analyze: (require('eslint-scope') as typeof import('eslint-scope')).analyze,
  });
}

/** A function source made shippable, with the names it needs from its environment. */
export interface FnAnalysis {
  /** An expression that evaluates to the function (method shorthand rewritten to `function`). */
  readonly src: string;
  /** Names the function reads but neither declares nor receives, sorted. */
  readonly free: readonly string[];
}

// Module mode makes the parse strict, as the agent evaluates shipped code: sloppy-only syntax
// (`with`, legacy octals) fails here, on the client, rather than remotely.
const PARSE: Options = { ecmaVersion: 'latest', sourceType: 'module', ranges: true };

/**
 * Globals of a plain Node 20 process. A fixed list rather than the client's own `globalThis`,
 * which test runners and app code add to, and which a newer Node on the client would widen.
 */
export const STANDARD_GLOBALS: ReadonlySet<string> = new Set(
  ('Object Function Array Number parseFloat parseInt Infinity NaN undefined Boolean String Symbol Date ' +
    'Promise RegExp Error AggregateError EvalError RangeError ReferenceError SyntaxError TypeError URIError ' +
    'globalThis JSON Math Intl ArrayBuffer Uint8Array Int8Array Uint16Array Int16Array Uint32Array Int32Array ' +
    'Float32Array Float64Array Uint8ClampedArray BigUint64Array BigInt64Array DataView Map BigInt Set WeakMap ' +
    'WeakSet Proxy Reflect FinalizationRegistry WeakRef decodeURI decodeURIComponent encodeURI encodeURIComponent ' +
    'escape unescape eval isFinite isNaN console SharedArrayBuffer Atomics WebAssembly ' +
    'process global Buffer clearImmediate setImmediate URL URLSearchParams DOMException AbortController ' +
    'AbortSignal Event EventTarget TextEncoder TextDecoder TransformStream TransformStreamDefaultController ' +
    'WritableStream WritableStreamDefaultController WritableStreamDefaultWriter ReadableStream ' +
    'ReadableStreamDefaultReader ReadableStreamBYOBReader ReadableStreamBYOBRequest ReadableByteStreamController ' +
    'ReadableStreamDefaultController ByteLengthQueuingStrategy CountQueuingStrategy TextEncoderStream ' +
    'TextDecoderStream CompressionStream DecompressionStream clearInterval clearTimeout setInterval setTimeout ' +
    'queueMicrotask structuredClone atob btoa BroadcastChannel MessageChannel MessagePort MessageEvent Blob File ' +
    'Performance PerformanceEntry PerformanceMark PerformanceMeasure PerformanceObserver ' +
    'PerformanceObserverEntryList PerformanceResourceTiming performance fetch FormData Headers Request Response ' +
    'crypto Crypto CryptoKey SubtleCrypto CustomEvent').split(' '),
);

/** Words that cannot name a binding in strict code, so cannot name a shipped global. */
export const RESERVED: ReadonlySet<string> = new Set(
  ('break case catch class const continue debugger default delete do else enum export extends false finally ' +
    'for function if import in instanceof new null return super switch this throw true try typeof var void ' +
    'while with yield let static implements interface package private protected public await arguments eval').split(' '),
);

/** Whether `name` is an identifier that strict code may bind. */
export function isBindableName(name: string): boolean {
  return /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u.test(name) && !RESERVED.has(name);
}

// Shipping the same function for every job would otherwise re-parse it each time.
const CACHE_MAX = 256;
const cache = new Map<string, FnAnalysis>();

/**
 * Normalizes and analyzes the source text of a function (`Function.prototype.toString`).
 * @param what how the function is named in errors, e.g. `the function` or `global "fit"`.
 */
export function analyzeSource(source: string, what: string): FnAnalysis {
  const hit = cache.get(source);
  if (hit) {
    // Re-insert so the Map's order approximates least-recently-used.
    cache.delete(source);
    cache.set(source, hit);
    return hit;
  }
  // A one-scope arrow needs no parser (quick-free-names.ts); anything else gets the full analysis.
  const result = quickAnalysis(source, RESERVED) ?? fullAnalysis(source, what);
  cache.set(source, result);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  return result;
}

/** @internal The analysis by a full parse and scope analysis, whatever the source's shape. */
export function fullAnalysis(source: string, what: string): FnAnalysis {
  const asExpr = tryParse(`(${source}\n)`);
  if (asExpr.ok) {
    const node = soleExpression(asExpr.ast);
    if (node?.type === 'ClassExpression') {
      throw new FlotillaError('BAD_INPUT', `${what} is a class constructor, which cannot be shipped: ship a plain function instead`);
    }
    if (node && (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression') && node.start === 1 && node.end === source.length + 1) {
      return { src: source, free: freeNames(asExpr.ast, what) };
    }
  }
  // Method shorthand, getters and class methods print without `function`; rebuild them as one.
  const method = methodParts(source);
  if (!method) {
    const why = asExpr.ok ? 'it is not a function expression' : asExpr.message;
    throw new FlotillaError('BAD_INPUT', `cannot parse the source of ${what}: ${why}`);
  }
  const head = `${method.async ? 'async ' : ''}function${method.generator ? '*' : ''} `;
  const anon = `${head}${method.rest}`;
  const parsed = tryParse(`(${anon}\n)`);
  if (!parsed.ok) {
    throw new FlotillaError('BAD_INPUT', `cannot ship ${what}, a method: ${parsed.message}; a method that uses super or #private names depends on its class`);
  }
  const free = freeNames(parsed.ast, what);
  // Naming the function would shadow an outer binding of the same name that the body reads.
  const named = method.name !== undefined && isBindableName(method.name) && !free.includes(method.name);
  return { src: named ? `${head}${method.name}${method.rest}` : anon, free };
}

type Parsed = { ok: true; ast: Program } | { ok: false; message: string };

function tryParse(text: string): Parsed {
  try {
    return { ok: true, ast: tools().parse(text, PARSE) };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

function soleExpression(ast: Program): Expression | Literal | undefined {
  const stmt = ast.body.length === 1 ? ast.body[0] : undefined;
  return stmt?.type === 'ExpressionStatement' ? stmt.expression : undefined;
}

interface MethodParts {
  name: string | undefined;
  async: boolean;
  generator: boolean;
  /** Parameters and body, from `(` to the closing `}`. */
  rest: string;
}

function methodParts(source: string): MethodParts | undefined {
  // Object literal first; a class body also accepts `#private` and `static` members.
  for (const [open, close] of [['({', '})'], ['(class {', '})']] as const) {
    const text = `${open}${source}\n${close}`;
    const parsed = tryParse(text);
    if (!parsed.ok) continue;
    const outer = soleExpression(parsed.ast);
    const members = outer?.type === 'ObjectExpression' ? outer.properties : outer?.type === 'ClassExpression' ? outer.body.body : [];
    const m = members.length === 1 ? members[0] : undefined;
    if (!m || (m.type !== 'Property' && m.type !== 'MethodDefinition')) continue;
    if (m.value?.type !== 'FunctionExpression') continue;
    const key = m.computed ? undefined : m.key;
    const name = key?.type === 'Identifier' ? key.name : key?.type === 'Literal' && typeof key.value === 'string' ? key.value : undefined;
    return { name, async: m.value.async, generator: m.value.generator, rest: text.slice(m.value.start, m.value.end) };
  }
  return undefined;
}

function freeNames(ast: Program, what: string): string[] {
  // `typeof x` is how code probes for an optional global; it does not throw when x is absent.
  const probed = new Set<Node>();
  let meta = false;
  tools().simple(ast, {
    UnaryExpression(n) {
      if (n.operator === 'typeof' && n.argument.type === 'Identifier') probed.add(n.argument);
    },
    MetaProperty(n) {
      if (n.meta.name === 'import') meta = true;
    },
  });
  if (meta) {
    // On an agent the source is not a module: import.meta would fail every task there.
    throw new FlotillaError('BAD_INPUT', `${what} uses import.meta, which an inline function does not have on an agent: ` +
      "compute what you need from it here and pass it in globals (e.g. { globals: { dataUrl: new URL('./data.csv', import.meta.url).href } }), " +
      'or make the task a module function (moduleOf)');
  }
  const scopes = tools().analyze(ast as unknown as Parameters<typeof import('eslint-scope').analyze>[0], { ecmaVersion: 2025, sourceType: 'module' });
  const names = new Set<string>();
  for (const ref of scopes.globalScope?.through ?? []) {
    if (!probed.has(ref.identifier as unknown as Node)) names.add(ref.identifier.name);
  }
  return [...names].sort();
}
