/**
 * Writes a sealed frame as one binary WebSocket message, built in the buffer the seal made: one
 * allocation and one socket write a message, where `ws.send` adds a header buffer and a corked
 * two-buffer write (the server side) or a masked copy (the client side). Every round trip sends
 * two tiny frames, so this is on the path of every task.
 *
 * A client's frames carry an all-zero masking key. Masking keeps a browser's script from
 * choosing the bytes a proxy sees; these bytes are AEAD ciphertext, which no one chooses, and
 * `ws` itself skips unmasking a zero key (its `generateMask` option exists for the same reason).
 * Where the socket is not in the plain state this relies on (a message of `ws`'s own still in
 * its queue, compression negotiated), the message goes through `ws.send` instead.
 */
import type { WebSocket } from 'ws';

/** The parts of a `ws` WebSocket this module reads (ws 8); anything else falls back to `ws.send`. */
interface WsInternals {
  _socket?: { write(b: Buffer): boolean; destroyed?: boolean } | null;
  _sender?: { _state?: number; _queue?: unknown[] } | null;
  _extensions?: Record<string, unknown> | null;
  _isServer?: boolean;
}

/** Bytes of a frame header for a payload of `n` bytes, with a masking key when `masked`. */
export function headerBytes(n: number, masked: boolean): number {
  return (n < 126 ? 2 : n < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/** Writes a FIN binary frame header for `n` payload bytes at the start of `out` (an all-zero key when `masked`). */
export function writeHeader(out: Buffer, n: number, masked: boolean): void {
  out[0] = 0x82;
  const m = masked ? 0x80 : 0;
  let at: number;
  if (n < 126) {
    out[1] = m | n;
    at = 2;
  } else if (n < 65536) {
    out[1] = m | 126;
    out.writeUInt16BE(n, 2);
    at = 4;
  } else {
    out[1] = m | 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
    at = 10;
  }
  if (masked) out.writeUInt32BE(0, at);
}

/**
 * Whether `ws`, once open, looks as this module expects: no extension negotiated (compression
 * would need `ws` to frame), and the internals it reads are there. Fixed for a connection.
 */
export function directCapable(ws: WebSocket): boolean {
  const w = ws as unknown as WsInternals;
  return typeof w._isServer === 'boolean' && w._extensions !== null && typeof w._extensions === 'object' && Object.keys(w._extensions).length === 0 && Array.isArray(w._sender?._queue);
}

/** Whether a message can be written straight to the socket of a `directCapable` `ws` now: nothing of `ws`'s own waits. */
export function canWriteDirect(ws: WebSocket): boolean {
  const w = ws as unknown as WsInternals;
  return w._socket != null && !w._socket.destroyed && w._sender!._state === 0 && w._sender!._queue!.length === 0;
}

/** Whether `ws` is the client end (its frames must be masked). */
export function isClient(ws: WebSocket): boolean {
  return (ws as unknown as WsInternals)._isServer === false;
}

/** Writes a whole frame built by `writeHeader` and the payload after it. */
export function writeDirect(ws: WebSocket, frame: Buffer): void {
  (ws as unknown as WsInternals)._socket!.write(frame);
}
