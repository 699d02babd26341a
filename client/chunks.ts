/**
 * Arguments in chunks that the controller accepts: a chunk is at most 8,192 items and about
 * CHUNK_TARGET_BYTES, and one message (packed, as it crosses the WebSocket) never exceeds the
 * controller's limit. One item, or a function with its globals, larger than MAX_ITEM_BYTES
 * fails here with BAD_INPUT, before anything is sent.
 */
import { encodeValue } from '../contract/codec.js';
import type { Encoded } from '../contract/codec.js';
import { FlotillaError } from '../contract/errors.js';
import { CHUNK_TARGET_BYTES, MAX_ITEM_BYTES, MAX_MESSAGE_BYTES, mib } from '../contract/limits.js';
import { Packed, pack } from '../contract/packed.js';
import type { PackedWire } from '../contract/packed.js';
import { transformer } from '../contract/transformer.js';

/** Items per chunk of a submission. */
const CHUNK_ITEMS = 8192;

const tooLarge = (what: string, bytes: number) =>
  new FlotillaError(
    'BAD_INPUT',
    `${what} is ${mib(bytes)} encoded: one item (or a function with its globals) may be at most ${mib(MAX_ITEM_BYTES)}, ` +
      `as the controller reads at most ${mib(MAX_MESSAGE_BYTES)} a message. Pass large data another way, e.g. a file or URL each task reads`,
    { context: { bytes, limit: MAX_ITEM_BYTES } },
  );

/** About how many bytes an encoded value takes in a message (binary parts travel as base64). */
function roughBytes(e: Encoded): number {
  let n = e.m === undefined && (typeof e.j !== 'object' || e.j === null) ? 24 : JSON.stringify(e.j).length + (e.m === undefined ? 0 : JSON.stringify(e.m).length);
  if (e.b) for (const b of e.b) n += Math.ceil(b.byteLength / 3) * 4;
  return n;
}

/** Encodes the next chunk of items from `from`: up to CHUNK_ITEMS, about CHUNK_TARGET_BYTES. */
export function encodeChunk<T>(list: ArrayLike<T>, from: number): Encoded[] {
  const out: Encoded[] = [];
  let bytes = 0;
  for (let i = from; i < list.length && out.length < CHUNK_ITEMS && bytes < CHUNK_TARGET_BYTES; i++) {
    const e = encodeValue(list[i], `item ${i}`);
    const n = roughBytes(e);
    if (n > MAX_ITEM_BYTES) throw tooLarge(`item ${i}`, n);
    // An item that would take the chunk past its target starts the next one.
    if (out.length > 0 && bytes + n > CHUNK_TARGET_BYTES) break;
    // A list of one item (the single-task map) takes a list of its size, not a push's room for seventeen.
    if (out.length === 0 && i + 1 === list.length) return [e];
    bytes += n;
    out.push(e);
  }
  return out;
}

/** Bytes a packed list takes inside a JSON message: its text escaped once more, its blob as is. */
function wireBytes(w: PackedWire): number {
  // Escaping at most doubles ASCII and UTF-8 at most triples a character: exact only when it could matter.
  const t = w.t.length * 3 < CHUNK_TARGET_BYTES ? w.t.length * 3 : Buffer.byteLength(JSON.stringify(w.t));
  return t + (w.b?.length ?? 0) + 64;
}

/** Bytes of a value as the transformer writes it into a message (for a function spec). */
export function messageBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(transformer.serialize(v)));
}

/**
 * Packs the longest prefix of `args` (item `firstIndex` first) whose message stays within `budget`
 * bytes. The packed form is kept, so the transformer does not pack it again. With `allowNone`
 * (a submit that also carries the function) it may take no argument; otherwise at least one, as
 * long as that one is within MAX_ITEM_BYTES.
 */
export function packToFit(args: Encoded[], budget: number, firstIndex: number, allowNone = false): { args: Encoded[]; count: number; bytes: number } {
  let n = args.length;
  for (;;) {
    if (n === 0) return { args: [], count: 0, bytes: 0 };
    const p = new Packed('a', n === args.length ? args : args.slice(0, n));
    const wire = pack(p);
    const bytes = wireBytes(wire);
    if (bytes <= budget || (n === 1 && !allowNone && bytes <= MAX_ITEM_BYTES)) return { args: p.withWire(wire) as unknown as Encoded[], count: n, bytes };
    if (n === 1) {
      if (allowNone) return { args: [], count: 0, bytes: 0 };
      throw tooLarge(`item ${firstIndex}`, bytes);
    }
    n = Math.ceil(n / 2);
  }
}

/**
 * At least the bytes `packToFit` would measure for `args`, when each is a plain number, boolean,
 * null or short string (no binary parts, no superjson metadata): enough to size a submission of
 * many small maps without packing each map's arguments on their own. Undefined otherwise.
 */
export function plainArgsBytes(args: readonly Encoded[]): number | undefined {
  if (args.length > 64) return undefined;
  let text = 2; // the list's brackets
  for (const e of args) {
    if (e.m !== undefined || e.b !== undefined) return undefined;
    const j = e.j;
    // `{"j":…},`: a number is at most 24 characters, a string's each at most 6 (\uXXXX) plus quotes.
    if (typeof j === 'number' || typeof j === 'boolean' || j === null) text += 32;
    else if (typeof j === 'string' && j.length <= 256) text += 8 + j.length * 6 + 2;
    else return undefined;
  }
  return text * 3 + 64; // as wireBytes counts a packed text: escaped once more, at most tripled
}

/** How much of a submit message the function leaves for arguments; a function over the item limit is refused. */
export function argumentBudget(fn: unknown): number {
  if (fn === undefined) return CHUNK_TARGET_BYTES;
  const bytes = messageBytes(fn);
  if (bytes > MAX_ITEM_BYTES) throw tooLarge('the function with its globals', bytes);
  return Math.max(0, CHUNK_TARGET_BYTES - bytes);
}
