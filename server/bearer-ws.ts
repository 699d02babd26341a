import { WebSocket } from 'ws';

/**
 * The `ws` WebSocket, for tRPC's client (Node 20 has no global one), sending the bearer token as
 * a header of the upgrade request: the controller refuses the socket itself without it, so an
 * unauthenticated peer never gets to send a message.
 */
export function withBearer(token: string | undefined): typeof globalThis.WebSocket {
  class BearerWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    }
  }
  return BearerWebSocket as unknown as typeof globalThis.WebSocket;
}
