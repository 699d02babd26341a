/**
 * The plaintext inside a sealed frame: a JSON message plus binary attachments, so bulk bytes
 * (typed arrays, Buffers) never pass through JSON.
 *
 *   [u32 json length][json utf8] then, per attachment, [u32 length][bytes]
 */
import { FlotillaError } from '../../contract/errors.js';

/** Builds a frame's plaintext. */
export function encodeFrame(msg: unknown, bins: readonly Uint8Array[] = []): Buffer {
  const json = Buffer.from(JSON.stringify(msg), 'utf8');
  let size = 4 + json.length;
  for (const b of bins) size += 4 + b.byteLength;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  let at = 4 + json.length;
  for (const b of bins) {
    out.writeUInt32BE(b.byteLength, at);
    out.set(b, at + 4);
    at += 4 + b.byteLength;
  }
  return out;
}

/** Splits a frame's plaintext; attachments are views into `buf`. */
export function decodeFrame(buf: Buffer): { msg: unknown; bins: Buffer[] } {
  const bad = (why: string): never => {
    throw new FlotillaError('CHANNEL', `malformed frame: ${why}`);
  };
  if (buf.length < 4) bad('shorter than its header');
  const jl = buf.readUInt32BE(0);
  if (4 + jl > buf.length) bad('message length past the end');
  let msg: unknown;
  try {
    msg = JSON.parse(buf.toString('utf8', 4, 4 + jl));
  } catch {
    bad('message is not JSON');
  }
  const bins: Buffer[] = [];
  let at = 4 + jl;
  while (at < buf.length) {
    if (at + 4 > buf.length) bad('attachment header past the end');
    const n = buf.readUInt32BE(at);
    if (at + 4 + n > buf.length) bad('attachment past the end');
    bins.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { msg, bins };
}
