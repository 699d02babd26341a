/**
 * How deep a value may nest, checked without recursion wherever values are encoded or decoded.
 * The encoders that values pass through (superjson, JSON.stringify, the frame and store writers)
 * recurse once or more per level, so a value a few thousand levels deep overflows the stack of
 * whichever process touches it next. Bounding depth up front makes that value fail on its own,
 * with a message, instead of the process that was handling it.
 */
import { ERROR_ACTIONS, FlotillaError, RETRYABLE } from './errors.js';
import type { ErrorAction, ErrorContext, ErrorInfo } from './errors.js';

/**
 * Levels of objects, arrays, Maps and Sets a value may nest. superjson itself stops at ~1,000
 * nested Maps on Node's default stack, and the value is encoded deep inside other calls.
 */
export const MAX_VALUE_DEPTH = 512;

/**
 * Levels the JSON of an encoded value may nest: a Map level is three JSON levels (the Map, its
 * entry list, an entry), plus a few for the envelope.
 */
export const MAX_WIRE_DEPTH = 3 * MAX_VALUE_DEPTH + 8;

/**
 * Whether `v` nests more than `max` levels of objects and arrays (Maps and Sets count as one).
 * Iterative: safe on any input, however deep. Shared references are walked once.
 */
export function deeperThan(v: unknown, max: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const seen = new Set<object>();
  const stack: { x: object; d: number }[] = [{ x: v, d: 1 }];
  while (stack.length > 0) {
    const { x, d } = stack.pop()!;
    if (d > max) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) continue;
    const children: Iterable<unknown> = x instanceof Map ? flatEntries(x) : x instanceof Set ? x : Array.isArray(x) ? x : Object.values(x);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push({ x: c, d: d + 1 });
  }
  return false;
}

function* flatEntries(m: Map<unknown, unknown>): Generator<unknown> {
  for (const [k, val] of m) {
    yield k;
    yield val;
  }
}

/** Throws BAD_INPUT if the JSON parts of an encoded value nest deeper than MAX_WIRE_DEPTH. */
export function assertWireDepth(e: { j: unknown; m?: unknown }, what: string): void {
  if (deeperThan(e.j, MAX_WIRE_DEPTH) || deeperThan(e.m, MAX_WIRE_DEPTH)) {
    throw new FlotillaError('BAD_INPUT', `${what} is nested more than ${MAX_VALUE_DEPTH} levels deep; flatten it, or send it as a string or bytes`, { context: { maxDepth: MAX_VALUE_DEPTH } });
  }
}

/** Context fields flotilla itself sets: kept when a context has to be dropped. */
const OWN_CONTEXT = ['jobId', 'taskIndex', 'attempt', 'pool', 'agentId', 'host', 'pid', 'durationMs', 'timedOut', 'exitCode', 'signal', 'stderrTail'] as const;

/** Most JSON bytes an error's `props` may take (the agent keeps them to 16 KiB). */
const PROPS_WIRE_MAX = 32 * 1024;

/**
 * An error as it may travel and be stored: known fields only, strings where strings belong, and
 * a context that is plain JSON within MAX_VALUE_DEPTH. A context that is not (nested too deep,
 * or holding what JSON cannot carry) is replaced by its scalar flotilla fields and a note, so
 * the task still fails with its own code and message.
 */
export function boundedErrorInfo(raw: Record<string, unknown>, fallbackCode: ErrorInfo['code'] = 'TASK_ERROR'): ErrorInfo {
  const info: ErrorInfo = {
    code: typeof raw.code === 'string' && Object.hasOwn(RETRYABLE, raw.code) ? (raw.code as ErrorInfo['code']) : fallbackCode,
    message: typeof raw.message === 'string' ? raw.message : String(raw.message),
  };
  if (typeof raw.name === 'string') info.name = raw.name;
  if (typeof raw.stack === 'string') info.stack = raw.stack;
  if (ERROR_ACTIONS.includes(raw.action as ErrorAction)) info.action = raw.action as ErrorAction;
  const props = raw.props;
  // The user's error's own properties: JSON values, bounded as errorProps made them.
  if (typeof props === 'object' && props !== null && !Array.isArray(props) && !deeperThan(props, MAX_VALUE_DEPTH)) {
    try {
      if (JSON.stringify(props).length <= PROPS_WIRE_MAX) info.props = props as Record<string, unknown>;
    } catch {
      // not JSON: dropped, the error itself still travels
    }
  }
  const ctx = raw.context;
  if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) return info;
  let why: string | undefined;
  if (deeperThan(ctx, MAX_VALUE_DEPTH)) why = `nested more than ${MAX_VALUE_DEPTH} levels deep`;
  else {
    try {
      JSON.stringify(ctx);
    } catch (err) {
      why = `not JSON (${(err as Error).message})`;
    }
  }
  if (why === undefined) {
    info.context = ctx as ErrorContext;
    return info;
  }
  const kept: ErrorContext = { contextDropped: `the error's context was ${why}` };
  for (const k of OWN_CONTEXT) {
    const v = (ctx as Record<string, unknown>)[k];
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) (kept as Record<string, unknown>)[k] = v;
  }
  info.context = kept;
  return info;
}
