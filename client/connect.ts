/**
 * `connect()`: a session with a running controller (`url` or FLOTILLA_URL, + token), or, with
 * neither, with an embedded controller started in this process with local agents.
 */
import { FlotillaError } from '../contract/errors.js';
import { parseControllerUrl, pinFor, preflight, resolveToken, trpcSocketUrl } from './remote/reach.js';
import { dashboardLoginUrl } from '../contract/dashboard-url.js';
import { Session } from './session.js';
import { connectTarget } from './connect-options.js';
import type { ConnectOptions } from './connect-options.js';

export type { ConnectOptions } from './connect-options.js';

/** Opens a session. */
export async function connect(opts: ConnectOptions = {}): Promise<Session> {
  const target = connectTarget(opts);
  if (target.kind === 'embedded') {
    // The controller (and the server code behind it) is loaded only for an embedded session.
    const { startEmbedded } = await import('./embedded-start.js');
    return startEmbedded(opts);
  }
  const url = parseControllerUrl(target.url);
  const token = resolveToken(opts);
  const agent = pinFor(url, opts.fingerprint);
  await preflight(url, target.url, token, undefined, agent);
  // The tRPC client and ws load only for a remote session.
  const { remoteClient, trpcHotPath } = await import('./transport.js');
  const { trpc, close } = remoteClient(trpcSocketUrl(url), token, agent);
  const session = new Session(trpc, trpcHotPath(trpc), undefined, close, dashboardLoginUrl(target.url, token));
  if (opts.waitForAgents) {
    const want = opts.waitForAgents;
    const deadline = Date.now() + (opts.waitForAgentsTimeoutMs ?? 30_000);
    for (;;) {
      const { lanes } = await session.agents();
      if (lanes.length >= want) break;
      if (Date.now() > deadline) {
        await session.close();
        throw new FlotillaError('LAUNCH_FAILED', `only ${lanes.length} of ${want} agent slots connected to ${target.url} in time`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return session;
}
