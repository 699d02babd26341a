/**
 * Values as they travel: superjson for the rich types (Date, Map, Set, BigInt, undefined...),
 * and binary data (Buffers, typed arrays, ArrayBuffers) kept out of the JSON as raw bytes, so a
 * Float64Array crosses as 8 bytes a number rather than a JSON list of digits.
 */
import { SuperJSON } from 'superjson';
import { FlotillaError } from './errors.js';
import { MAX_VALUE_DEPTH, assertWireDepth } from './bounds.js';

/** An encoded value: superjson's `json` and `meta`, plus the binary parts it refers to by index. */
export interface Encoded {
  j: unknown;
  m?: unknown;
  b?: Uint8Array[];
}

type BinKind = 'Buffer' | 'Uint8Array' | 'Int8Array' | 'Uint8ClampedArray' | 'Int16Array' | 'Uint16Array' | 'Int32Array' | 'Uint32Array' | 'Float32Array' | 'Float64Array' | 'BigInt64Array' | 'BigUint64Array' | 'ArrayBuffer' | 'DataView';

// The side table of the encode or decode in progress. Safe because superjson runs synchronously.
let binsOut: Uint8Array[] = [];
let binsIn: readonly Uint8Array[] = [];

const sj = new SuperJSON();
sj.registerCustom<ArrayBufferView | ArrayBuffer, { i: number; k: BinKind }>(
  {
    isApplicable: (v): v is ArrayBufferView | ArrayBuffer => ArrayBuffer.isView(v) || v instanceof ArrayBuffer,
    serialize: (v) => {
      const k = binKind(v);
      const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      binsOut.push(bytes);
      return { i: binsOut.length - 1, k };
    },
    deserialize: (ref) => {
      const { i, k } = (ref ?? {}) as { i?: unknown; k?: unknown };
      const bytes = Number.isInteger(i) ? binsIn[i as number] : undefined;
      if (!bytes) throw new FlotillaError('BAD_INPUT', `a binary value refers to part ${String(i)}, but only ${binsIn.length} arrived`);
      return fromBytes(bytes, k as BinKind) as ArrayBufferView;
    },
  },
  'bin',
);

function binKind(v: ArrayBufferView | ArrayBuffer): BinKind {
  if (v instanceof ArrayBuffer) return 'ArrayBuffer';
  if (typeof Buffer !== 'undefined' && Buffer.isBuffer(v)) return 'Buffer';
  return v.constructor.name as BinKind;
}

const VIEWS: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  Uint8Array, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
};

function fromBytes(bytes: Uint8Array, k: BinKind): unknown {
  if (k === 'Buffer') return Buffer.from(bytes);
  // A fresh, aligned copy: the bytes may sit at any offset inside a received frame.
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  if (k === 'ArrayBuffer') return ab;
  const View = Object.hasOwn(VIEWS, k) ? VIEWS[k] : undefined;
  if (!View) throw new FlotillaError('BAD_INPUT', `cannot decode binary value of kind ${String(k)}`);
  const size = (View as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  if (ab.byteLength % size !== 0) throw new FlotillaError('BAD_INPUT', `a ${k} of ${ab.byteLength} bytes is not a whole number of ${size}-byte elements`);
  return new View(ab);
}

function isPlainJsonScalar(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object':
      return v === null;
    default:
      return false;
  }
}

/**
 * Encodes a value for the wire. Throws BAD_INPUT naming the path of anything that cannot
 * travel (functions, symbols, promises, class instances, weak collections).
 * @param what how the value is named in an error, e.g. `item 3` or `global "k"`.
 */
export function encodeValue(v: unknown, what = 'value'): Encoded {
  if (isPlainJsonScalar(v)) return { j: v };
  assertSendable(v, what);
  binsOut = [];
  try {
    const { json, meta } = sj.serialize(v);
    const out: Encoded = { j: json };
    if (meta !== undefined) out.m = meta;
    if (binsOut.length > 0) out.b = binsOut;
    return out;
  } finally {
    binsOut = [];
  }
}

/**
 * Decodes what `encodeValue` produced. Throws BAD_INPUT for a value nested too deep or whose
 * binary references do not match its parts: it may come from anyone.
 */
export function decodeValue(e: Encoded, what = 'a value'): unknown {
  assertWireDepth(e, what);
  if (e.m === undefined) return e.j;
  binsIn = e.b ?? [];
  try {
    return sj.deserialize({ json: e.j as never, meta: e.m as never });
  } finally {
    binsIn = [];
  }
}

const SENDABLE_CLASSES: ReadonlySet<unknown> = new Set([Date, RegExp, Map, Set, URL, Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError]);

/** A part of a value being walked, and how its parent holds it (for the path in a message). */
interface Part {
  x: unknown;
  up: Part | undefined;
  /** 0: array index, 1: object key, 2: Map key, 3: Map value, 4: Set member. */
  how: number;
  key: unknown;
  d: number;
}

/** The path of a part, e.g. `item 3.a[2]`, built only when a message needs it. */
function pathOf(p: Part, what: string): string {
  const steps: string[] = [];
  for (let q: Part | undefined = p; q?.up; q = q.up) {
    steps.push(q.how === 0 ? `[${String(q.key)}]` : q.how === 1 ? `.${String(q.key)}` : q.how === 2 ? ' (a Map key)' : q.how === 3 ? `.get(${String(q.key)})` : ' (a Set member)');
  }
  return what + steps.reverse().join('');
}

/**
 * Walks a value and throws BAD_INPUT at the first part that cannot travel, naming its path, or
 * when it nests deeper than MAX_VALUE_DEPTH. Iterative, so no value can overflow the stack here.
 */
export function assertSendable(v: unknown, what: string): void {
  const seen = new Set<object>();
  // Children are pushed last first, so parts are visited (and reported) in order.
  const stack: Part[] = [{ x: v, up: undefined, how: 0, key: undefined, d: 0 }];
  const push = (c: unknown, up: Part, how: number, key: unknown) => {
    // Scalars other than functions and symbols need no visit: most of a large value is scalars.
    const t = typeof c;
    if ((t === 'object' && c !== null) || t === 'function' || t === 'symbol') stack.push({ x: c, up, how, key, d: up.d + 1 });
  };
  while (stack.length > 0) {
    const part = stack.pop()!;
    const x = part.x;
    if (typeof x === 'function') throw new FlotillaError('BAD_INPUT', `${pathOf(part, what)} is a function, which cannot be sent as a value; pass it in \`globals\` so it is shipped as source`);
    if (typeof x === 'symbol') throw new FlotillaError('BAD_INPUT', `${pathOf(part, what)} is a symbol, which cannot be sent`);
    if (typeof x !== 'object' || x === null || seen.has(x)) continue;
    if (part.d >= MAX_VALUE_DEPTH) {
      throw new FlotillaError('BAD_INPUT', `${what} is nested more than ${MAX_VALUE_DEPTH} levels deep; flatten it, or send it as a string or bytes`, { context: { maxDepth: MAX_VALUE_DEPTH } });
    }
    seen.add(x);
    if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) continue;
    if (Array.isArray(x)) {
      for (let i = x.length - 1; i >= 0; i--) push(x[i], part, 0, i);
      continue;
    }
    const proto = Object.getPrototypeOf(x);
    if (proto === Object.prototype || proto === null) {
      const keys = Object.keys(x);
      for (let i = keys.length - 1; i >= 0; i--) push((x as Record<string, unknown>)[keys[i]!], part, 1, keys[i]);
    } else if (x instanceof Map) {
      const entries = [...x];
      for (let i = entries.length - 1; i >= 0; i--) {
        push(entries[i]![1], part, 3, entries[i]![0]);
        push(entries[i]![0], part, 2, undefined);
      }
    } else if (x instanceof Set) {
      const members = [...x];
      for (let i = members.length - 1; i >= 0; i--) push(members[i], part, 4, undefined);
    } else if (!(x instanceof Error || SENDABLE_CLASSES.has(x.constructor))) {
      const name = (x.constructor as { name?: string } | undefined)?.name || 'an object with a custom prototype';
      throw new FlotillaError('BAD_INPUT', `${pathOf(part, what)} is an instance of ${name}, which cannot be sent; send plain data (objects, arrays, Map, Set, Date, typed arrays) instead`);
    }
  }
}
