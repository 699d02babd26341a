/**
 * Who may talk to the controller: the bearer token clients send, and where a controller may
 * listen without one, or without TLS.
 */
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { FlotillaError } from '../../contract/errors.js';

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether a request carries `token` as `Authorization: Bearer` (any request does, without a token). */
export function bearerAuthorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const header = req.headers.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ') && tokensEqual(header.slice(7), token);
}

/**
 * Refuses to listen beyond loopback without a token, and (but for an embedded controller, whose
 * clients are in its process and whose agents' channel is sealed) without TLS: the token,
 * arguments and results would cross the network in plaintext.
 * @throws FlotillaError BAD_INPUT saying what to give instead
 */
export function checkExposure(host: string, o: { requireToken: boolean; tls: unknown; embedded?: boolean }): void {
  if (!o.requireToken && !isLoopback(host)) {
    throw new FlotillaError('BAD_INPUT', `refusing to listen on ${host} without a token: only a loopback controller may set requireToken: false`);
  }
  if (!isLoopback(host) && !o.tls && !o.embedded) {
    throw new FlotillaError(
      'BAD_INPUT',
      `refusing to listen on ${host} without TLS: the token, arguments and results would cross the network in plaintext. ` +
        `Give a certificate (--tls-cert FILE --tls-key FILE, or tls: { cert, key }), or --tls self-signed (tls: 'self-signed') and pin the fingerprint it prints; ` +
        `or keep the controller on 127.0.0.1 and forward its port from your machine: ssh -L 7711:127.0.0.1:7711 <this host>`,
    );
  }
}
