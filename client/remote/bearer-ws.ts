import { WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, mib } from '../../contract/limits.js';

/**
 * The `ws` WebSocket, for tRPC's client (Node 20 has no global one), sending the bearer token as
 * a header of the upgrade request: the controller refuses the socket itself without it, so an
 * unauthenticated peer never gets to send a message. A message over the controller's limit is
 * not sent: the calls in it fail with the reason (the controller would close the socket).
 * `tls` is passed to the TLS connection of a wss:// URL (e.g. a pinning agent).
 */
export function withBearer(token: string | undefined, tls: { agent?: import('node:https').Agent } = {}): typeof globalThis.WebSocket {
  class BearerWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), ...tls });
    }

    override send(data: unknown, ...rest: unknown[]): void {
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : ((data as { byteLength?: number }).byteLength ?? 0);
      if (bytes > MAX_MESSAGE_BYTES) {
        throw new Error(`a call of ${mib(bytes)} is over the ${mib(MAX_MESSAGE_BYTES)} the controller reads in one message: send less at once (map arguments go in chunks by themselves)`);
      }
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  }
  return BearerWebSocket as unknown as typeof globalThis.WebSocket;
}
