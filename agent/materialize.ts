/**
 * The agent's half of function shipping: rebuilds a `FnSpec` into a callable, with the spec's
 * globals in scope under their names. Bundled into the agent, so it imports only agent/protocol.
 */
import { decodeValue } from '../contract/codec.js';
import { FlotillaError } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';
import { materializeBuiltin } from './builtin-table.js';
import { registerLayout, SOURCE_URL_PREFIX } from './stack.js';
import type { ScriptPart } from './stack.js';

/** Defined for every shipped function: code transpiled by esbuild (tsx) calls it to keep names. */
const NAME_HELPER = '__name';

function setName(f: unknown, name: unknown): unknown {
  try {
    Object.defineProperty(f, 'name', { value: name, configurable: true });
  } catch {
    // Naming is cosmetic; a frozen or odd value still works unnamed.
  }
  return f;
}

/**
 * Builds the function a spec describes. Value globals are decoded once and shared by every call
 * of the returned function; function globals are in scope for the function and for each other.
 * Evaluated as strict code, like the ES modules the functions come from.
 * @throws FlotillaError `BAD_INPUT` when a global name is unusable, a source does not compile,
 *   or a source does not evaluate to a function.
 */
export function materialize(spec: FnSpec): (...args: unknown[]) => unknown {
  return materializeSpec(spec).fn;
}

/** A shipped function and, when the spec has one, its retry predicate. */
export interface Materialized {
  fn: (...args: unknown[]) => unknown;
  retryIf?: (err: unknown) => unknown;
  /** The spec's inline setup, built in the same scope; a module setup is loaded by the runner. */
  setup?: () => unknown;
}

/**
 * Like `materialize`, with the spec's `retryIf` predicate and inline setup built in the same
 * scope. For a module spec (`src` empty) `fn` is a placeholder: the runner imports the export.
 */
export function materializeSpec(spec: FnSpec, refValues: Record<string, unknown> = {}): Materialized {
  if (spec.builtin !== undefined) return { fn: materializeBuiltin(spec) };
  // Module-export globals (imported by the caller) are in scope like value globals.
  const valNames = [...Object.keys(spec.vals ?? {}), ...Object.keys(spec.refs ?? {})];
  const fnNames = Object.keys(spec.fns ?? {});
  checkNames(valNames, fnNames);
  const isModule = spec.module !== undefined;
  const mainSrc = isModule ? 'undefined' : spec.src;
  const setupSrc = spec.setup?.src;
  const parts: Array<[string, unknown]> = [['the shipped function', mainSrc], ...fnNames.map((n): [string, unknown] => [`global "${n}"`, spec.fns[n]])];
  if (spec.retryIf !== undefined) parts.push(['retryIf', spec.retryIf]);
  if (setupSrc !== undefined) parts.push(['setup', setupSrc]);
  for (const [what, src] of parts) {
    if (typeof src !== 'string') throw new FlotillaError('BAD_INPUT', `${what} has no source text (got ${typeof src})`);
  }

  // Parentheses make a `function f() {}` source an expression; the newlines keep a trailing
  // line comment from swallowing the closing parenthesis. Each source starts on its own line,
  // and where it starts is recorded, so a frame of it maps back to the user's file.
  const lines: string[] = ['"use strict";'];
  const layout: ScriptPart[] = [];
  const place = (what: string, key: string, src: string, after: string) => {
    // V8 counts the lines of a `new Function` script from its two-line header.
    const origin = spec.origins?.[key];
    const srcLines = src.split('\n');
    let lineStarts: number[] | undefined;
    if (origin?.lines) {
      lineStarts = [0];
      for (const l of srcLines.slice(0, -1)) lineStarts.push(lineStarts[lineStarts.length - 1]! + l.length + 1);
    }
    layout.push({ what, start: lines.length + 3, lines: srcLines.length, origin, lineStarts });
    lines.push(src, after);
  };
  for (const n of fnNames) {
    lines.push(`const ${n} = (`);
    place(`global "${n}"`, `global:${n}`, spec.fns[n]!, ');');
  }
  lines.push('return [(');
  place('the shipped function', 'main', mainSrc, `), [${fnNames.join(', ')}], (`);
  place('retryIf', 'retryIf', spec.retryIf ?? 'undefined', '), (');
  place('setup', 'setup', setupSrc ?? 'undefined', ')];');
  if (spec.id) {
    lines.push(`//# sourceURL=${SOURCE_URL_PREFIX}${spec.id}`);
    registerLayout(spec.id, layout);
  }
  const body = lines.join('\n');
  let factory: (...args: unknown[]) => unknown;
  try {
    factory = new Function(NAME_HELPER, ...valNames, body) as typeof factory;
  } catch (err) {
    throw compileError(parts, err);
  }

  const values = valNames.map((n) => (n in (spec.vals ?? {}) ? decodeValue(spec.vals[n]!) : refValues[n]));
  let built: [unknown, unknown[], unknown, unknown];
  try {
    built = factory(setName, ...values) as typeof built;
  } catch (err) {
    throw new FlotillaError('BAD_INPUT', `evaluating the shipped source threw: ${message(err)}`, { cause: err });
  }
  const [main, fns, retryIf, setup] = built;
  fns.forEach((f, i) => {
    if (typeof f !== 'function') throw new FlotillaError('BAD_INPUT', `global "${fnNames[i]}" does not evaluate to a function (got ${typeof f})`);
  });
  if (setupSrc !== undefined && typeof setup !== 'function') throw new FlotillaError('BAD_INPUT', `setup does not evaluate to a function (got ${typeof setup})`);
  if (isModule) {
    const placeholder = () => {
      throw new FlotillaError('INTERNAL', 'module function used before it was loaded');
    };
    return { fn: placeholder, retryIf: retryIf as Materialized['retryIf'], setup: setup as Materialized['setup'] };
  }
  if (typeof main !== 'function') {
    throw new FlotillaError('BAD_INPUT', `the shipped source does not evaluate to a function (got ${main === null ? 'null' : typeof main})`);
  }
  if (spec.retryIf !== undefined && typeof retryIf !== 'function') throw new FlotillaError('BAD_INPUT', `retryIf does not evaluate to a function (got ${typeof retryIf})`);
  return { fn: main as (...args: unknown[]) => unknown, retryIf: retryIf as Materialized['retryIf'], setup: setup as Materialized['setup'] };
}

// The names are spliced into generated code, so only plain identifiers may pass.
const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u;

function checkNames(valNames: readonly string[], fnNames: readonly string[]): void {
  const vals = new Set(valNames);
  for (const n of [...valNames, ...fnNames]) {
    if (!IDENTIFIER.test(n)) throw new FlotillaError('BAD_INPUT', `global name ${JSON.stringify(n)} is not a JavaScript identifier`);
    if (n === NAME_HELPER) throw new FlotillaError('BAD_INPUT', `global name "${n}" is reserved for transpiled code`);
  }
  for (const n of fnNames) {
    if (vals.has(n)) throw new FlotillaError('BAD_INPUT', `global "${n}" is given both as a value and as a function`);
  }
}

/** Compiles each part alone to say which one is broken; only runs once compiling has failed. */
function compileError(parts: ReadonlyArray<[string, unknown]>, err: unknown): FlotillaError {
  for (const [what, src] of parts) {
    try {
      new Function(`"use strict";\nreturn (\n${String(src)}\n);`);
    } catch (partErr) {
      return new FlotillaError('BAD_INPUT', `${what} does not compile: ${message(partErr)}`, { cause: partErr });
    }
  }
  return new FlotillaError('BAD_INPUT', `the shipped function and its globals do not compile together: ${message(err)}`, { cause: err });
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
