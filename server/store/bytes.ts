/**
 * What the packed rows of the durable store (./packed-results.ts, ./packed-args.ts) are made of:
 * variable-length integers (unsigned LEB128, and zigzag for integers that may be negative; a value
 * below 128 takes one byte, so an index, an attempt or a name's number costs a byte or two rather
 * than its JSON digits and punctuation), the row's frame and its binary parts.
 */

/**
 * The first word of a packed row. A row written before rows were packed (./chunk.ts) starts with
 * its JSON's length, which is below SQLite's limit on a blob (1e9 bytes): the two never meet.
 */
export const PACKED_MAGIC = 0xffffffff;

/** Whether a stored row is packed (else it is an older JSON chunk). */
export function isPacked(body: Uint8Array): boolean {
  return body.length >= 5 && body[0] === 0xff && body[1] === 0xff && body[2] === 0xff && body[3] === 0xff;
}

/** A growable buffer written front to back. */
export class ByteWriter {
  buf: Uint8Array;
  at = 0;

  constructor(size = 4096) {
    this.buf = new Uint8Array(size);
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  /** A non-negative safe integer. */
  uint(v: number): void {
    // Anything else would be stored as other bytes and read back as another number.
    if (!(v >= 0 && Number.isSafeInteger(v))) throw new RangeError(`stored row: ${v} is not a non-negative safe integer`);
    if (this.at + 8 > this.buf.length) this.room(8);
    const b = this.buf;
    if (v < 0x80) {
      b[this.at++] = v;
      return;
    }
    let at = this.at;
    // Above 31 bits, arithmetic: bit operations work on 32-bit integers.
    for (; v >= 0x80000000; v = Math.floor(v / 0x80)) b[at++] = (v % 0x80) | 0x80;
    for (; v >= 0x80; v >>>= 7) b[at++] = (v & 0x7f) | 0x80;
    b[at++] = v;
    this.at = at;
  }

  /** A safe integer of either sign (zigzag: 0, -1, 1, -2... as 0, 1, 2, 3...). */
  int(v: number): void {
    this.uint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  f64(v: number): void {
    this.room(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.at, v, true);
    this.at += 8;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }
}

/** Reads what a ByteWriter wrote; a read past `end` throws `damaged stored chunk: ...`, never reads other bytes. */
export class ByteReader {
  at: number;

  constructor(private readonly buf: Uint8Array, start: number, readonly end: number) {
    this.at = start;
  }

  private short(): never {
    throw new Error('damaged stored chunk: a field runs past the end of its section');
  }

  u8(): number {
    if (this.at >= this.end) this.short();
    return this.buf[this.at++]!;
  }

  uint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.end || scale > 2 ** 49) this.short();
      const b = this.buf[this.at++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
    }
  }

  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  f64(): number {
    if (this.at + 8 > this.end) this.short();
    const v = new DataView(this.buf.buffer, this.buf.byteOffset).getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
}

/** A packed row's binary parts from `start` (their count, lengths, bytes), copied out so the row's buffer can be freed. */
export function binaryParts(body: Uint8Array, start: number): Uint8Array[] {
  const t = new ByteReader(body, start, body.length);
  const n = t.uint();
  if (n > body.length) throw new Error('damaged stored chunk: more binary parts than bytes');
  const lens: number[] = [];
  for (let i = 0; i < n; i++) lens.push(t.uint());
  let at = t.at;
  const bins: Uint8Array[] = [];
  for (const len of lens) {
    if (at + len > body.length) throw new Error('damaged stored chunk: binary part past the end');
    bins.push(new Uint8Array(body.subarray(at, at + len))); // a copy, and a plain Uint8Array as it was recorded
    at += len;
  }
  return bins;
}

/** Writes `bins` as binaryParts reads them: count, lengths, then the bytes. */
export function writeBinaryParts(w: ByteWriter, bins: readonly Uint8Array[]): void {
  w.uint(bins.length);
  let total = 0;
  for (const b of bins) {
    w.uint(b.byteLength);
    total += b.byteLength;
  }
  w.room(total);
  for (const b of bins) {
    w.buf.set(b, w.at);
    w.at += b.byteLength;
  }
}

/** A packed row, [magic][head][fields][JSON length][JSON][tail], written once into a buffer of its size. */
export function assemble(head: ByteWriter, fields: Uint8Array, text: string, tail: ByteWriter): Buffer {
  const jsonBytes = Buffer.byteLength(text);
  const len = new ByteWriter(8);
  len.uint(jsonBytes);
  const out = Buffer.allocUnsafe(4 + head.at + fields.length + len.at + jsonBytes + tail.at);
  out.writeUInt32LE(PACKED_MAGIC, 0);
  let at = 4;
  for (const part of [head.bytes(), fields, len.bytes()]) {
    out.set(part, at);
    at += part.length;
  }
  at += out.write(text, at, jsonBytes, 'utf8');
  out.set(tail.bytes(), at);
  return out;
}

