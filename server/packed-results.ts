/**
 * A batch of results as one string on the WebSocket link. Results are already encoded values
 * (superjson output plus binary parts), so walking them again with superjson, on the controller
 * and again on the client, only costs time: a packed batch is one JSON text of the results, with
 * their binary parts moved into one blob that travels as base64. The transformer
 * (server/transformer.ts) writes a `PackedResults` so and reads it back as the plain array.
 */
import type { TaskResult } from './job.js';

/** A stand-in for a results array, written by the transformer as one string. */
export class PackedResults {
  constructor(readonly results: TaskResult[]) {}
}

/** What a `PackedResults` is on the wire: the JSON of the results and their binary parts, base64. */
export type PackedWire = {
  /** JSON of the results; an encoded value's `b` holds the byte lengths of its parts. */
  t: string;
  /** The binary parts of all results, concatenated in order, base64. */
  b?: string;
};

/**
 * Marks `results` to travel packed. Typed as the array because that is what the far end reads:
 * only for streams over WebSocket, whose client always deserializes with the transformer.
 */
export function packed(results: TaskResult[]): TaskResult[] {
  return new PackedResults(results) as unknown as TaskResult[];
}

/** The wire form of a packed batch. */
export function packResults(p: PackedResults): PackedWire {
  let parts: Uint8Array[] | undefined;
  let rows: unknown[] = p.results;
  for (let i = 0; i < p.results.length; i++) {
    const r = p.results[i]!;
    if (!r.ok || !r.value.b) continue;
    if (!parts) (parts = []), (rows = p.results.slice());
    parts.push(...r.value.b);
    rows[i] = { ...r, value: { ...r.value, b: r.value.b.map((x) => x.byteLength) } };
  }
  const t = JSON.stringify(rows);
  if (!parts) return { t };
  const blob = Buffer.concat(parts.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x.buffer, x.byteOffset, x.byteLength))));
  return { t, b: blob.toString('base64') };
}

/** Reads a packed batch back: the results, binary parts as views into one decoded buffer. */
export function unpackResults(w: PackedWire): TaskResult[] {
  const results = JSON.parse(w.t) as TaskResult[];
  if (w.b === undefined) return results;
  const blob = Buffer.from(w.b, 'base64');
  let at = 0;
  for (const r of results) {
    if (!r.ok || !r.value.b) continue;
    // decodeValue copies each part into a fresh, aligned buffer, so views into the blob do.
    r.value.b = (r.value.b as unknown as number[]).map((n) => new Uint8Array(blob.buffer, blob.byteOffset + (at += n) - n, n));
  }
  return results;
}
