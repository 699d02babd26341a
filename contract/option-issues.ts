/**
 * What a strict option object says when it is given something wrong: an unknown key names it and
 * suggests the nearest known one ("tokenfile is not an option (did you mean tokenFile?)"), a bad
 * value names the option and shows the value. Uses no zod code (only its types), so it serves the
 * full zod's schemas (option-check.ts) and zod/mini's (connect()'s, loaded at import) alike.
 */
import type { $ZodError, $ZodRawIssue } from 'zod/v4/core';
import { FlotillaError } from './errors.js';
import { didYouMean } from './options.js';

/** What to say about an unknown key. */
function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = didYouMean(key, known);
  return `${key} is not an option (${near ? `did you mean ${near}?` : `known: ${known.join(', ')}`})`;
}

/** The params of a strict object with these `known` keys whose unknown-key errors suggest the nearest one. */
export function strictParams(known: readonly string[]): { error: (iss: $ZodRawIssue) => string | undefined } {
  return { error: (iss) => (iss.code === 'unrecognized_keys' ? iss.keys.map((k) => unknownKeyMessage(k, known)).join('; ') : undefined) };
}

/** A value shown in an error, short. */
function shown(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function at(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/**
 * One line per problem: the option's path (under `base`, e.g. `pools.lab`), what is wrong, and
 * the value given; after `what: ` when `what` is given.
 */
export function describeOptionIssues(err: $ZodError, input: unknown, what: string, base?: string): string {
  // A misspelt key first: the missing option it was meant to be is then its consequence.
  const issues = [...err.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const lines = issues.map((i) => {
    const path = [base, ...i.path.map(String)].filter(Boolean).join('.');
    if (i.code === 'unrecognized_keys') {
      // The message names the key; prefix the object it is in.
      return path ? i.message.split('; ').map((m) => `${path}.${m}`).join('; ') : i.message;
    }
    const message = i.message.replace(/^Invalid input: /, '').replace(/, received \w+$/, '');
    const value = at(input, i.path);
    if (value === undefined) return `${path} is missing: ${message}`;
    return `${path || '(options)'}: ${message}, got ${shown(value)}`;
  });
  return what ? `${what}: ${lines.join('; ')}` : lines.join('; ');
}

/** Checks `input` against a schema; BAD_INPUT naming every bad option otherwise. Returns the input. */
export function checkOptions<T>(schema: { safeParse(input: unknown, ctx?: { jitless?: boolean }): { success: true } | { success: false; error: $ZodError } }, input: T, what: string, base?: string): T {
  // Options are checked once: compiling a fast path for each object schema on its first parse
  // (zod's JIT) would cost more than the check (~10 ms for connect()'s pools and controller).
  const r = schema.safeParse(input, { jitless: true });
  if (!r.success) throw new FlotillaError('BAD_INPUT', describeOptionIssues(r.error, input, what, base));
  return input;
}
