/**
 * One stored chunk of values: a JSON part plus the raw bytes of every binary part, so a
 * Float64Array result is stored as its bytes, not as JSON digits. Layout:
 * [u32 JSON length][JSON][u32 part count][u32 length of each part][the parts].
 */
import { packEncoded, unpackEncoded } from '../../contract/messages.js';
import type { WireEncoded } from '../../contract/messages.js';
import type { Encoded } from '../../contract/codec.js';

/** Packs JSON-able items; `pack` turns Encoded values into references to the binary parts. */
export function writeChunk<T>(items: readonly T[], toJson: (item: T, pack: (e: Encoded) => WireEncoded) => unknown): Buffer {
  const bins: Uint8Array[] = [];
  const pack = (e: Encoded) => packEncoded(e, bins);
  const text = JSON.stringify(items.map((it) => toJson(it, pack)));
  const jsonBytes = Buffer.byteLength(text);
  let size = 8 + jsonBytes + 4 * bins.length;
  for (const b of bins) size += b.byteLength;
  // The text is written straight into the chunk: no buffer of its own to fill and copy.
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(jsonBytes, 0);
  out.write(text, 4, jsonBytes, 'utf8');
  let at = 4 + jsonBytes;
  out.writeUInt32LE(bins.length, at);
  at += 4;
  for (const b of bins) {
    out.writeUInt32LE(b.byteLength, at);
    at += 4;
  }
  for (const b of bins) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

/**
 * Inverse of writeChunk; binary parts are copied out, so the chunk's buffer can be freed. Every
 * length is checked against the blob: a damaged row fails its reader with a message, never reads
 * past its end.
 */
export function readChunk<T>(blob: Uint8Array, fromJson: (raw: any, unpack: (w: WireEncoded) => Encoded) => T): T[] {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const bad = (why: string): never => {
    throw new Error(`damaged stored chunk: ${why}`);
  };
  if (buf.length < 8) bad('shorter than its header');
  const jsonLen = buf.readUInt32LE(0);
  if (8 + jsonLen > buf.length) bad('JSON length past the end');
  const raw = JSON.parse(buf.toString('utf8', 4, 4 + jsonLen)) as unknown[];
  if (!Array.isArray(raw)) bad('JSON part is not a list');
  let at = 4 + jsonLen;
  const n = buf.readUInt32LE(at);
  at += 4;
  if (at + 4 * n > buf.length) bad('part count past the end');
  const lens: number[] = [];
  for (let i = 0; i < n; i++, at += 4) lens.push(buf.readUInt32LE(at));
  const bins: Uint8Array[] = [];
  for (const len of lens) {
    if (at + len > buf.length) bad('binary part past the end');
    bins.push(Uint8Array.prototype.slice.call(buf, at, at + len));
    at += len;
  }
  const unpack = (w: WireEncoded) => unpackEncoded(w, bins);
  return raw.map((r) => fromJson(r, unpack));
}
