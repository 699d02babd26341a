/**
 * `connect()` without a url. Most of a short embedded run is its local agents' start, and an
 * agent can boot before the controller exists (it waits for credentials on stdin): the agents
 * the pools launch first start now, while the controller's code loads and it sets up, and its
 * local launchers adopt them (server/launchers/local/spares.ts).
 */
import type { ConnectOptions } from './connect-options.js';
import type { Session } from './session.js';

/** Starts the local agents ahead, then the embedded controller and a session with it. */
export async function startEmbedded(opts: ConnectOptions): Promise<Session> {
  const spares = await import('../server/launchers/local/spares.js');
  void spares.startSpares(spares.initialLocalAgents(opts.pools));
  try {
    const { connectEmbedded } = await import('./embedded.js');
    return await connectEmbedded(opts);
  } finally {
    // The pools' first launches ran when the controller started: nobody takes what is left.
    await spares.dropSpares();
  }
}
