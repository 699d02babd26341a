/**
 * `connect()`: a session with a running controller (`url` + token), or, with no url, with an
 * embedded controller started in this process with local agents.
 */
import { readFileSync } from 'node:fs';
import { FlotillaError } from '../agent/protocol/errors.js';
import type { ControllerOptions } from '../server/controller.js';
import type { PoolOptions } from '../server/pool-options.js';
import { Session } from './session.js';

/** Options of `connect()`. */
export interface ConnectOptions {
  /** URL of a running controller (`http://host:port`, as `flotilla controller` prints). @default embedded */
  url?: string;
  /** Bearer token of that controller. @default the content of `tokenFile`, or FLOTILLA_TOKEN */
  token?: string;
  /** File holding the token (the controller prints its path). */
  tokenFile?: string;
  /** Embedded only: pools to start. @default { local: { launcher: 'local' } } with one agent per core */
  pools?: Record<string, PoolOptions>;
  /** Embedded only: further controller options. */
  controller?: Omit<ControllerOptions, 'pools' | 'embedded'>;
  /** Wait until this many agent slots are connected before returning. @default 0 */
  waitForAgents?: number;
  /** How long to wait for them; SLURM queues can take minutes. @default 30000 */
  waitForAgentsTimeoutMs?: number;
}

/** Opens a session. */
export async function connect(opts: ConnectOptions = {}): Promise<Session> {
  if (opts === null || typeof opts !== 'object') throw new FlotillaError('BAD_INPUT', `connect() options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  if (opts.url === undefined) {
    // The controller (and the server code behind it) is loaded only for an embedded session.
    const [{ Controller }, { localClient, localHotPath }] = await Promise.all([import('../server/controller.js'), import('./transport.js')]);
    const controller = await Controller.start({ ...opts.controller, pools: opts.pools, embedded: true });
    const session = new Session(localClient(controller), localHotPath(controller), controller, () => controller.close());
    if (opts.waitForAgents) {
      try {
        await controller.waitForLanes(opts.waitForAgents, { timeoutMs: opts.waitForAgentsTimeoutMs });
      } catch (err) {
        await session.close(); // nothing of a session that never became usable may linger
        throw err;
      }
    }
    return session;
  }
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new FlotillaError('BAD_INPUT', `url must be the controller's address like http://127.0.0.1:7711, got ${JSON.stringify(opts.url)}`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) throw new FlotillaError('BAD_INPUT', `url must use http, https, ws or wss, got ${url.protocol}`);
  const token = opts.token ?? (opts.tokenFile ? readToken(opts.tokenFile) : process.env.FLOTILLA_TOKEN);
  await preflight(url, opts.url, token);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.pathname = '/trpc';
  // The tRPC client and ws load only for a remote session.
  const { remoteClient, trpcHotPath } = await import('./transport.js');
  const { trpc, close } = remoteClient(url.toString(), token);
  const session = new Session(trpc, trpcHotPath(trpc), undefined, close);
  if (opts.waitForAgents) {
    const want = opts.waitForAgents;
    const deadline = Date.now() + (opts.waitForAgentsTimeoutMs ?? 30_000);
    for (;;) {
      const { lanes } = await session.agents();
      if (lanes.length >= want) break;
      if (Date.now() > deadline) {
        await session.close();
        throw new FlotillaError('LAUNCH_FAILED', `only ${lanes.length} of ${want} agent slots connected to ${opts.url} in time`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return session;
}

/**
 * One authenticated HTTP call before the WebSocket exists, so a wrong token or an unreachable
 * controller fails now with the reason, rather than as a socket that keeps reconnecting.
 */
async function preflight(url: URL, shown: string, token: string | undefined): Promise<void> {
  const http = new URL(url);
  http.protocol = http.protocol === 'wss:' || http.protocol === 'https:' ? 'https:' : 'http:';
  http.pathname = '/trpc/agents.list';
  let res: Response;
  try {
    res = await fetch(http, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new FlotillaError('CLOSED', `cannot reach a controller at ${shown} (${why})`, { cause: err });
  }
  await res.body?.cancel();
  if (res.status === 401) throw new FlotillaError('UNAUTHORIZED', `the controller at ${shown} refused the token${token ? '' : ' (none was given: pass token or tokenFile)'}`);
  if (!res.ok) throw new FlotillaError('CLOSED', `${shown} answered ${res.status}: is it a flotilla controller?`);
}

function readToken(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new FlotillaError('BAD_INPUT', `cannot read tokenFile ${path}: ${(err as Error).message}`);
  }
}
