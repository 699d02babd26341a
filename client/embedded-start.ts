/**
 * `connect()` without a url. Most of a short embedded run is its local agents' start, and an
 * agent can boot before the controller exists (it waits for credentials on stdin): the agents
 * the pools launch first start now, while the controller's code loads and it sets up, and its
 * local launchers adopt them (server/launchers/local/spares.ts).
 */
import type { ConnectOptions } from './connect-options.js';
import type { Session } from './session.js';
// Loaded with this module (itself loaded only for an embedded session): one load fewer before the
// agents start. It is small: the controller's code is in embedded.js.
import * as spares from '../server/launchers/local/spares.js';

/** Starts the local agents ahead, then the embedded controller and a session with it. */
export async function startEmbedded(opts: ConnectOptions): Promise<Session> {
  void spares.startSpares(spares.initialLocalAgents(opts.pools));
  try {
    const { connectEmbedded } = await import('./embedded.js');
    return await connectEmbedded(opts);
  } finally {
    // The pools' first launches ran when the controller started: nobody takes what is left.
    await spares.dropSpares();
  }
}
