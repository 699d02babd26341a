/**
 * Sizes the client endpoint accepts, shared by the controller (which refuses more) and the client
 * (which keeps under them). Jobs of any size arrive in chunks (map.append), so nothing legitimate
 * needs a larger message; a bound well below memory keeps one request from starving the rest.
 */

/** Largest HTTP request body or WebSocket message the controller reads from a client: 32 MiB. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/**
 * Largest single item (or function with its globals) a client sends, encoded: 16 MiB, half a
 * message, so two calls the WebSocket client batches into one frame still fit.
 */
export const MAX_ITEM_BYTES = 16 * 1024 * 1024;

/** How much a chunk of arguments aims for: a few MiB, far from the limit. */
export const CHUNK_TARGET_BYTES = 8 * 1024 * 1024;

/** A size in MiB, for messages. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 1)} MiB`;
}
