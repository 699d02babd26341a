/**
 * Certificate pinning for clients of a controller that serves TLS with a self-signed
 * certificate: the connection is trusted when the certificate's SHA-256 fingerprint is the one
 * the controller printed, and nothing (not even the token) is sent before that is checked.
 */
import { Agent } from 'node:https';
import type { RequestOptions } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { FlotillaError } from '../../contract/errors.js';

/** A fingerprint as OpenSSL and Node print it (AA:BB:...), from that or plain hex. */
export function normalizeFingerprint(fp: string): string {
  const hex = typeof fp === 'string' ? fp.replace(/^sha256[:/=]?/i, '').replace(/[:\s]/g, '').toUpperCase() : '';
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new FlotillaError('BAD_INPUT', `fingerprint must be a certificate's SHA-256 fingerprint (64 hex digits, colons optional) as the controller printed, got ${JSON.stringify(fp)}`);
  }
  return hex.match(/../g)!.join(':');
}

/** An HTTPS agent that accepts exactly the certificate with this fingerprint. */
export function pinnedAgent(fingerprint: string): Agent {
  const want = normalizeFingerprint(fingerprint);
  class PinnedAgent extends Agent {
    override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | undefined {
      // Checked once the handshake is done and before the request (with its token) is written:
      // the agent waits for the callback when this returns nothing.
      const socket: TLSSocket = tlsConnect({ ...(options as object), rejectUnauthorized: false });
      let settled = false;
      const done = (err: Error | null) => {
        if (settled) return;
        settled = true;
        if (err) socket.destroy();
        callback?.(err, socket);
      };
      socket.once('secureConnect', () => {
        const got = socket.getPeerCertificate().fingerprint256;
        done(got === want ? null : new FlotillaError('UNAUTHORIZED', `the controller's certificate has fingerprint ${got}, not the pinned ${want}: this is not the controller you pinned (or it has a new certificate)`));
      });
      socket.once('error', (err) => done(err));
      return undefined;
    }
  }
  return new PinnedAgent({ keepAlive: false });
}
