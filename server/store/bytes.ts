/**
 * Variable-length integers in a byte buffer, for the packed rows of the durable store
 * (./packed-results.ts): unsigned LEB128, and zigzag for integers that may be negative. A value
 * takes one byte below 128, so an index, an attempt or a name's number costs a byte or two
 * rather than its JSON digits and punctuation.
 */

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
    this.room(8);
    const b = this.buf;
    while (v >= 0x80) {
      b[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.at++] = v;
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
