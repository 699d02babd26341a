/**
 * Values as they travel: superjson for the rich types (Date, Map, Set, BigInt, undefined...),
 * and binary data (Buffers, typed arrays, ArrayBuffers) kept out of the JSON as raw bytes, so a
 * Float64Array crosses as 8 bytes a number rather than a JSON list of digits.
 */
import { SuperJSON } from 'superjson';
import { FlotillaError } from './errors.js';

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
    deserialize: ({ i, k }) => fromBytes(binsIn[i] ?? new Uint8Array(0), k) as ArrayBufferView,
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
  const View = VIEWS[k];
  if (!View) throw new FlotillaError('BAD_INPUT', `cannot decode binary value of kind ${k}`);
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

/** Decodes what `encodeValue` produced. */
export function decodeValue(e: Encoded): unknown {
  if (e.m === undefined) return e.j;
  binsIn = e.b ?? [];
  try {
    return sj.deserialize({ json: e.j as never, meta: e.m as never });
  } finally {
    binsIn = [];
  }
}

const SENDABLE_CLASSES: ReadonlySet<unknown> = new Set([Date, RegExp, Map, Set, URL, Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError]);

/** Walks a value and throws BAD_INPUT at the first part that cannot travel, naming its path. */
export function assertSendable(v: unknown, what: string): void {
  const seen = new Set<object>();
  const walk = (x: unknown, path: string): void => {
    switch (typeof x) {
      case 'function':
        throw new FlotillaError('BAD_INPUT', `${path} is a function, which cannot be sent as a value; pass it in \`globals\` so it is shipped as source`);
      case 'symbol':
        throw new FlotillaError('BAD_INPUT', `${path} is a symbol, which cannot be sent`);
      case 'object':
        break;
      default:
        return;
    }
    if (x === null || seen.has(x)) return;
    seen.add(x);
    if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) return;
    if (Array.isArray(x)) {
      x.forEach((e, i) => walk(e, `${path}[${i}]`));
      return;
    }
    const proto = Object.getPrototypeOf(x);
    if (proto === Object.prototype || proto === null) {
      for (const k of Object.keys(x)) walk((x as Record<string, unknown>)[k], `${path}.${k}`);
      return;
    }
    if (x instanceof Map) {
      for (const [k, val] of x) {
        walk(k, `${path} (a Map key)`);
        walk(val, `${path}.get(${String(k)})`);
      }
      return;
    }
    if (x instanceof Set) {
      for (const e of x) walk(e, `${path} (a Set member)`);
      return;
    }
    if (x instanceof Error || SENDABLE_CLASSES.has(x.constructor)) return;
    const name = (x.constructor as { name?: string } | undefined)?.name || 'an object with a custom prototype';
    throw new FlotillaError('BAD_INPUT', `${path} is an instance of ${name}, which cannot be sent; send plain data (objects, arrays, Map, Set, Date, typed arrays) instead`);
  };
  walk(v, what);
}
