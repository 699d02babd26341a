/**
 * How a client finds and reaches a running controller, the same way for `connect()` and the
 * CLI: the URL (given, else FLOTILLA_URL), the token (given; else a token file; else
 * FLOTILLA_TOKEN; else `~/.flotilla/token` when it exists), and one authenticated HTTP call
 * before any WebSocket, so an unreachable controller or a wrong token fails within seconds with
 * the reason instead of as a socket that keeps reconnecting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { Agent } from 'node:https';
import { FlotillaError } from '../../contract/errors.js';
import { pinnedAgent } from './tls-pin.js';
import { defaultStateDir, tokenPath } from '../../contract/state-path.js';

/** `~` and `~/x` as the shell would expand them. */
export function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** The token file a controller started with default options writes: `~/.flotilla/token` (or under FLOTILLA_STATE_DIR). */
export function defaultTokenFile(): string {
  return tokenPath(defaultStateDir());
}

/**
 * The token to send: `token`; else the content of `tokenFile`; else FLOTILLA_TOKEN; else the
 * default token file if there is one; else none (a controller started with --no-token).
 */
export function resolveToken(opts: { token?: string; tokenFile?: string }): string | undefined {
  if (opts.token !== undefined) return opts.token;
  if (opts.tokenFile !== undefined) return readToken(expandHome(opts.tokenFile));
  if (process.env.FLOTILLA_TOKEN) return process.env.FLOTILLA_TOKEN;
  const file = defaultTokenFile();
  return existsSync(file) ? readToken(file) : undefined;
}

function readToken(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new FlotillaError('BAD_INPUT', `cannot read tokenFile ${path}: ${(err as Error).message}`);
  }
}

/** A controller address checked: http(s) or ws(s). */
export function parseControllerUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FlotillaError('BAD_INPUT', `url must be the controller's address like http://127.0.0.1:7711, got ${JSON.stringify(url)}`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) throw new FlotillaError('BAD_INPUT', `url must use http, https, ws or wss, got ${u.protocol}`);
  return u;
}

/** The tRPC WebSocket address of a controller. */
export function trpcSocketUrl(url: URL): string {
  const u = new URL(url);
  u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
  u.pathname = '/trpc';
  return u.toString();
}

/**
 * The HTTPS agent that pins `fingerprint` (or FLOTILLA_FINGERPRINT) for an https:// controller;
 * none otherwise. A fingerprint for a plain http:// URL is BAD_INPUT: it would pin nothing.
 */
export function pinFor(url: URL, fingerprint = process.env.FLOTILLA_FINGERPRINT): Agent | undefined {
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  if (fingerprint === undefined || fingerprint === '') return undefined;
  if (!secure) throw new FlotillaError('BAD_INPUT', `fingerprint pins a TLS certificate: use the controller's https:// url, got ${url.toString()}`);
  return pinnedAgent(fingerprint);
}

/**
 * One authenticated HTTP call: resolves if a flotilla controller at `url` accepts `token`;
 * CLOSED when nothing answers (within `timeoutMs`) or something else does (or its certificate
 * is not trusted), UNAUTHORIZED when it refuses the token or is not the pinned certificate.
 */
export async function preflight(url: URL, shown: string, token: string | undefined, timeoutMs = 10_000, agent?: Agent): Promise<void> {
  const http = new URL(url);
  const secure = http.protocol === 'wss:' || http.protocol === 'https:';
  http.protocol = secure ? 'https:' : 'http:';
  http.pathname = '/trpc/agents.list';
  let status: number;
  try {
    status = await new Promise<number>((resolve, reject) => {
      const req = (secure ? httpsGet : httpGet)(http, { headers: token ? { authorization: `Bearer ${token}` } : {}, agent, timeout: timeoutMs }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: `no answer within ${timeoutMs / 1000} s` })));
      req.on('error', reject);
    });
  } catch (err) {
    if (err instanceof FlotillaError) throw err; // a certificate that is not the pinned one
    const why = (err as { code?: string }).code ?? (err as Error).message;
    const hint = secure && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(why) ? ': pass the fingerprint the controller printed (connect({ url, fingerprint }), --fingerprint)' : '';
    throw new FlotillaError('CLOSED', `cannot reach a controller at ${shown} (${why})${hint}`, { cause: err });
  }
  if (status === 401) throw new FlotillaError('UNAUTHORIZED', `the controller at ${shown} refused the token${token ? '' : ` (none was given: pass token or tokenFile, set FLOTILLA_TOKEN, or put it in ${defaultTokenFile()})`}`);
  if (status === 400 && !secure) throw new FlotillaError('CLOSED', `${shown} answered 400: a controller that serves TLS answers so in the clear; use its https:// url`);
  if (status < 200 || status >= 300) throw new FlotillaError('CLOSED', `${shown} answered ${status}: is it a flotilla controller?`);
}
