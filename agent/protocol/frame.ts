/**
 * The plaintext inside a sealed frame: a JSON message plus binary attachments, so bulk bytes
 * (typed arrays, Buffers) never pass through JSON.
 *
 *   [u32 json length][json utf8] then, per attachment, [u32 length][bytes]
 */
import { FlotillaError } from '../../contract/errors.js';

/** Builds a frame's plaintext. */
export function encodeFrame(msg: unknown, bins: readonly Uint8Array[] = []): Buffer {
  // The JSON text goes straight into the frame: no buffer of its own to copy from.
  const json = JSON.stringify(msg);
  const jl = Buffer.byteLength(json, 'utf8');
  let size = 4 + jl;
  for (const b of bins) size += 4 + b.byteLength;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(jl, 0);
  out.write(json, 4, jl, 'utf8');
  let at = 4 + jl;
  for (const b of bins) {
    out.writeUInt32BE(b.byteLength, at);
    out.set(b, at + 4);
    at += 4 + b.byteLength;
  }
  return out;
}

function bad(why: string): never {
  throw new FlotillaError('CHANNEL', `malformed frame: ${why}`);
}

/** No attachments: shared, since most frames have none and nobody adds to it. */
const NO_BINS = Object.freeze([]) as unknown as Buffer[];

/** Splits a frame's plaintext; attachments are views into `buf`. */
export function decodeFrame(buf: Buffer): { msg: unknown; bins: Buffer[] } {
  if (buf.length < 4) bad('shorter than its header');
  const jl = buf.readUInt32BE(0);
  if (4 + jl > buf.length) bad('message length past the end');
  let msg: unknown;
  try {
    msg = JSON.parse(buf.toString('utf8', 4, 4 + jl));
  } catch {
    bad('message is not JSON');
  }
  let at = 4 + jl;
  if (at === buf.length) return { msg, bins: NO_BINS };
  const bins: Buffer[] = [];
  while (at < buf.length) {
    if (at + 4 > buf.length) bad('attachment header past the end');
    const n = buf.readUInt32BE(at);
    if (at + 4 + n > buf.length) bad('attachment past the end');
    bins.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { msg, bins };
}
