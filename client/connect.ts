/**
 * `connect()`: a session with a running controller (`url` + token), or, with no url, with an
 * embedded controller started in this process with local agents.
 */
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { Agent } from 'node:https';
import { pinnedAgent } from '../server/tls-pin.js';
import { FlotillaError } from '../agent/protocol/errors.js';
import { Controller } from '../server/controller.js';
import type { ControllerOptions } from '../server/controller.js';
import type { PoolOptions } from '../server/pool-options.js';
import { Session, localClient, localHotPath, remoteClient, trpcHotPath } from './session.js';

/** Options of `connect()`. */
export interface ConnectOptions {
  /** URL of a running controller (`http://host:port`, as `flotilla controller` prints). @default embedded */
  url?: string;
  /** Bearer token of that controller. @default the content of `tokenFile`, or FLOTILLA_TOKEN */
  token?: string;
  /** File holding the token (the controller prints its path). */
  tokenFile?: string;
  /**
   * SHA-256 fingerprint of the certificate of an `https://` controller (`AA:BB:...` or plain hex,
   * as `flotilla controller --tls self-signed` prints it): that certificate alone is trusted, and
   * nothing is sent before it is checked. Without it, the certificate must be valid for the
   * system's CAs (or NODE_EXTRA_CA_CERTS). @default FLOTILLA_FINGERPRINT
   */
  fingerprint?: string;
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
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const fingerprint = opts.fingerprint ?? process.env.FLOTILLA_FINGERPRINT;
  if (fingerprint !== undefined && !secure) throw new FlotillaError('BAD_INPUT', `fingerprint pins a TLS certificate: use an https:// url, got ${opts.url}`);
  const agent = secure && fingerprint ? pinnedAgent(fingerprint) : undefined;
  await preflight(url, opts.url, token, agent);
  url.protocol = secure ? 'wss:' : 'ws:';
  url.pathname = '/trpc';
  const { trpc, close } = remoteClient(url.toString(), token, agent);
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
 * One authenticated HTTP call before the WebSocket exists, so a wrong token, a wrong certificate
 * or an unreachable controller fails now with the reason, rather than as a socket that keeps
 * reconnecting.
 */
async function preflight(url: URL, shown: string, token: string | undefined, agent: Agent | undefined): Promise<void> {
  const http = new URL(url);
  const secure = http.protocol === 'wss:' || http.protocol === 'https:';
  http.protocol = secure ? 'https:' : 'http:';
  http.pathname = '/trpc/agents.list';
  let status: number;
  try {
    status = await new Promise<number>((resolve, reject) => {
      const req = (secure ? httpsGet : httpGet)(http, { headers: token ? { authorization: `Bearer ${token}` } : {}, agent, timeout: 10_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', reject);
    });
  } catch (err) {
    if (err instanceof FlotillaError) throw err; // a pinned certificate that does not match
    const code = (err as { code?: string }).code;
    const why = code ?? (err as Error).message;
    const hint = secure && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(why) ? ': pass the fingerprint the controller printed (connect({ url, fingerprint }))' : '';
    throw new FlotillaError('CLOSED', `cannot reach a controller at ${shown} (${why})${hint}`, { cause: err });
  }
  if (status === 401) throw new FlotillaError('UNAUTHORIZED', `the controller at ${shown} refused the token${token ? '' : ' (none was given: pass token or tokenFile)'}`);
  if (status === 400 && !secure) throw new FlotillaError('CLOSED', `${shown} answered 400: a controller serving TLS answers so in the clear; use https://`);
  if (status < 200 || status >= 300) throw new FlotillaError('CLOSED', `${shown} answered ${status}: is it a flotilla controller?`);
}

function readToken(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new FlotillaError('BAD_INPUT', `cannot read tokenFile ${path}: ${(err as Error).message}`);
  }
}
