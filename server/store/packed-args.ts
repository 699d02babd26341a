/**
 * The packed form of a stored chunk of task arguments: a flags byte per argument and one JSON list
 * of their values, so a chunk of plain values is one JSON.stringify of a list of plain values
 * (not of `{ j }` objects) and reads back with one JSON.parse. Layout, as a packed row (./bytes.ts):
 *
 *   [u32 0xFFFFFFFF][u8 format 2][count][fields length][fields][JSON length][JSON: [j, m?, ...]][binary parts]
 *
 * Per argument: flags (1: its `m` follows its `j` in the JSON; 2: it has binary parts, whose
 * count and indices follow). Chunks written before are read by ./chunk.ts.
 */
import type { Encoded } from '../../contract/codec.js';
import { ByteReader, ByteWriter, assemble, binaryParts, writeBinaryParts } from './bytes.js';

const FORMAT = 2;
const META = 1, BINARY = 2;

/** Arguments packed (throws if a value cannot be written as JSON). */
export function packArgs(args: readonly Encoded[]): Buffer {
  const w = new ByteWriter(args.length + 16);
  const values: unknown[] = new Array(args.length);
  let next = 0;
  const bins: Uint8Array[] = [];
  for (const e of args) {
    const flags = (e.m !== undefined ? META : 0) | (e.b && e.b.length > 0 ? BINARY : 0);
    w.u8(flags);
    values[next++] = e.j;
    if (flags & META) values[next++] = e.m;
    if (flags & BINARY) {
      w.uint(e.b!.length);
      for (const b of e.b!) w.uint(bins.push(b) - 1);
    }
  }
  const fields = w.bytes();
  const head = new ByteWriter(16);
  head.u8(FORMAT);
  head.uint(args.length);
  head.uint(fields.length);
  const tail = new ByteWriter(16);
  writeBinaryParts(tail, bins);
  return assemble(head, fields, JSON.stringify(values), tail);
}

const damaged = (why: string): never => {
  throw new Error(`damaged stored chunk: ${why}`);
};

/** A packed chunk's arguments; every length and reference is checked against the chunk. */
export function unpackArgs(body: Uint8Array): Encoded[] {
  const h = new ByteReader(body, 4, body.length);
  if (h.u8() !== FORMAT) damaged(`packed arguments of an unknown format ${body[4]}`);
  const count = h.uint();
  const len = h.uint();
  if (h.at + len > body.length || count > len) damaged('fields past the end');
  const f = new ByteReader(body, h.at, h.at + len);
  const j = new ByteReader(body, f.end, body.length);
  const jsonLen = j.uint();
  if (j.at + jsonLen > body.length) damaged('JSON length past the end');
  const values = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8', j.at, j.at + jsonLen)) as unknown[];
  if (!Array.isArray(values)) damaged('JSON part is not a list');
  const bins = binaryParts(body, j.at + jsonLen);
  const out: Encoded[] = new Array(count);
  let next = 0;
  const value = () => (next < values.length ? values[next++] : damaged('fewer values than arguments'));
  for (let i = 0; i < count; i++) {
    const flags = f.u8();
    const e: Encoded = { j: value() };
    if (flags & META) e.m = value();
    if (flags & BINARY) {
      e.b = [];
      for (let n = f.uint(); n > 0; n--) e.b.push(bins[f.uint()] ?? damaged(`argument ${i} refers to a missing binary part`));
    }
    out[i] = e;
  }
  return out;
}
