/**
 * Lists of encoded values as one string on the WebSocket link. Results and task arguments are
 * already encoded (superjson output plus binary parts), so walking them again with superjson on
 * both ends of the link only costs time: a packed list is one JSON text, with the binary parts
 * moved into one blob that travels as base64. The transformer (contract/transformer.ts) writes a
 * `Packed` so and reads it back as the plain array; the far end must deserialize with it, so
 * lists are packed only on the WebSocket link (never for in-process callers).
 */
import type { Encoded } from './codec.js';
import type { TaskResult } from './job-types.js';
import { FlotillaError } from './errors.js';

/**
 * What the list holds: task results (an ok one's value is encoded), encoded arguments, the parts
 * of a results stream's event (each with its results) or the jobs of a submission (each with
 * its first arguments), or plain JSON items (the answers to a submission's jobs).
 */
type Kind = 'r' | 'a' | 'f' | 'j' | 'o';
const KINDS: readonly string[] = ['r', 'a', 'f', 'j', 'o'];

/** A stand-in for a list, written by the transformer as one string. */
export class Packed {
  /** The wire form, when a caller made it already (to measure it). */
  wire: PackedWire | undefined;
  constructor(readonly kind: Kind, readonly items: readonly unknown[]) {}
  /** This list with its wire form made already, so it is not packed twice. */
  withWire(wire: PackedWire): this {
    this.wire = wire;
    return this;
  }
}

/** What a `Packed` is on the wire. */
export type PackedWire = {
  k: Kind;
  /** JSON of the list; an encoded value's `b` holds the byte lengths of its parts. */
  t: string;
  /** The binary parts of the whole list, concatenated in order, base64. */
  b?: string;
};

/** Marks `results` to travel packed; typed as the array because that is what the far end reads. */
export function packed(results: TaskResult[]): TaskResult[] {
  return new Packed('r', results) as unknown as TaskResult[];
}

/** Marks task arguments to travel packed; typed as the array because that is what the far end reads. */
export function packedArgs(args: Encoded[]): Encoded[] {
  return new Packed('a', args) as unknown as Encoded[];
}

/**
 * Marks a list of objects that each hold a list of encoded things (`results` of a results
 * event's parts, `args` of a submission's jobs) to travel as one packed string: one text and one
 * blob for the whole message rather than a superjson walk of every part.
 */
export function packedList<T>(kind: 'f' | 'j' | 'o', items: T[]): T[] {
  return new Packed(kind, items) as unknown as T[];
}

/** The kind of list an item of `kind` holds inside, and under which key. */
const INNER = { f: ['results', 'r'], j: ['args', 'a'] } as const;

/** `item` with its binary parts moved to `parts` (their lengths left in place); itself if it has none. */
function leanItem(kind: Kind, item: unknown, parts: Uint8Array[]): unknown {
  if (kind === 'o') return item;
  if (kind === 'a') {
    const e = item as Encoded;
    if (!e?.b) return e;
    for (const x of e.b) parts.push(x);
    return { ...e, b: e.b.map((x) => x.byteLength) };
  }
  if (kind === 'r') {
    const r = item as TaskResult;
    return r.ok && r.value.b ? { ...r, value: leanItem('a', r.value, parts) } : r;
  }
  const [key, inner] = INNER[kind];
  const list = (item as Record<string, unknown>)[key];
  if (!Array.isArray(list)) return item;
  const lean = leanItems(inner, list, parts);
  return lean === list ? item : { ...(item as object), [key]: lean };
}

/** `items`, or a copy with each item that has binary parts made lean. */
function leanItems(kind: Kind, items: readonly unknown[], parts: Uint8Array[]): readonly unknown[] {
  let out = items;
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    const y = leanItem(kind, x, parts);
    if (y === x) continue;
    if (out === items) out = items.slice();
    (out as unknown[])[i] = y;
  }
  return out;
}

/** The wire form of a packed list. */
export function pack(p: Packed): PackedWire {
  if (p.wire) return p.wire;
  const parts: Uint8Array[] = [];
  const t = JSON.stringify(leanItems(p.kind, p.items, parts));
  if (parts.length === 0) return { k: p.kind, t };
  const blob = Buffer.concat(parts.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x.buffer, x.byteOffset, x.byteLength))));
  return { k: p.kind, t, b: blob.toString('base64') };
}

/**
 * Reads a packed list back: binary parts become views into one decoded buffer. It comes from the
 * other end of the link, so every claimed length is checked against the bytes that arrived, and
 * the buffer is allocated for this list alone (never a slice of Node's shared pool), so no view
 * can reach memory that is not this list's.
 */
export function unpack(w: PackedWire): unknown[] {
  const bad = (why: string): never => {
    throw new FlotillaError('BAD_INPUT', `malformed packed list: ${why}`);
  };
  if (typeof w !== 'object' || w === null || !KINDS.includes(w.k) || typeof w.t !== 'string') bad('not { k, t, b? }');
  if (w.b !== undefined && typeof w.b !== 'string') bad('binary part is not a string');
  let items: unknown;
  try {
    items = JSON.parse(w.t);
  } catch {
    bad('its text is not JSON');
  }
  if (!Array.isArray(items)) bad('its text is not a list');
  const list = items as unknown[];
  const blob = w.b === undefined ? undefined : Buffer.alloc(Buffer.byteLength(w.b, 'base64'));
  const size = blob ? blob.write(w.b!, 'base64') : 0;
  let at = 0;
  const restore = (kind: Kind, item: unknown): void => {
    if (typeof item !== 'object' || item === null || kind === 'o') return;
    if (kind === 'f' || kind === 'j') {
      const [key, inner] = INNER[kind];
      const list = (item as Record<string, unknown>)[key];
      if (Array.isArray(list)) for (const x of list) restore(inner, x);
      return;
    }
    const e = kind === 'a' ? (item as Encoded) : (item as TaskResult).ok ? (item as { value: Encoded }).value : undefined;
    if (typeof e !== 'object' || e === null || e.b === undefined) return;
    if (!Array.isArray(e.b)) bad('binary lengths are not a list');
    const lens = e.b as unknown as unknown[];
    const views: Uint8Array[] = [];
    for (const n of lens) {
      if (!Number.isSafeInteger(n) || (n as number) < 0) bad(`binary length ${String(n)} is not a byte count`);
      if (at + (n as number) > size) bad(`binary parts claim more than the ${size} bytes that arrived`);
      // decodeValue copies each part into a fresh, aligned buffer, so views into the blob do.
      views.push(new Uint8Array(blob!.buffer, blob!.byteOffset + at, n as number));
      at += n as number;
    }
    e.b = views;
  };
  for (const item of list) restore(w.k, item);
  if (at !== size) bad(`${size - at} bytes of binary parts that no value claims`);
  return list;
}
