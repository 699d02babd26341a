/**
 * Strict option objects: an unknown key is an error that names it and suggests the nearest
 * known one ("tokenfile is not an option of connect(); did you mean tokenFile?"), and a bad
 * value is an error that names the option and shows the value. Shared by connect(), the
 * controller, its pools and the controller's config file.
 */
import { z } from 'zod';
import { FlotillaError } from '../agent/protocol/errors.js';

/** Edit distance, counting a swap of two neighbours as one edit. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key `key` was most likely meant to be, if any is close enough. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same) return same;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = distance(lower, k.toLowerCase());
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  // A prefix counts too: `timeout` for `timeoutMs`, `idle` for `idleTimeout`.
  const prefixed = known.find((k) => k.toLowerCase().startsWith(lower) && lower.length >= 4);
  return bestD <= Math.max(1, Math.floor(key.length / 4)) ? best : prefixed;
}

/** What to say about an unknown key. */
function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = nearestKey(key, known);
  return `${key} is not an option (${near ? `did you mean ${near}?` : `known: ${known.join(', ')}`})`;
}

/** A `z.strictObject` whose unknown-key errors suggest the nearest known key. */
export function strictOptions<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, z.core.$strict> {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? iss.keys.map((k) => unknownKeyMessage(k, known)).join('; ') : undefined),
  });
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
export function describeOptionIssues(err: z.ZodError, input: unknown, what: string, base?: string): string {
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
export function checkOptions<T>(schema: z.ZodType<unknown>, input: T, what: string, base?: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new FlotillaError('BAD_INPUT', describeOptionIssues(r.error, input, what, base));
  return input;
}
