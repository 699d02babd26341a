/**
 * The controller's port: one TCP listener whose connections go, through the connection guard,
 * to one HTTP server (tRPC over HTTP and WebSocket, and the agent endpoint). With TLS the port
 * speaks both: a connection that opens with a TLS handshake is served over TLS (clients), any
 * other in the clear, where only the agent endpoint answers (its channel is end-to-end sealed
 * already, so agents, tunnels and relays need no certificate). Requests are bounded: a body over
 * MAX_MESSAGE_BYTES is refused from its Content-Length before it is read, and a stranger's body
 * is never read at all.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';
import { ConnectionGuard, defaultConnectionLimits } from './connection-guard.js';
import type { ConnectionLimits } from './connection-guard.js';
import { MAX_MESSAGE_BYTES, mib } from '../../contract/limits.js';
import type { TlsMaterial } from './tls.js';

/** The first byte of a TLS handshake record. */
const TLS_HANDSHAKE = 0x16;
/** A TLS handshake that has not finished in this long is dropped. */
const TLS_HANDSHAKE_MS = 10_000;

export interface EndpointOptions {
  host: string;
  port: number;
  tls?: TlsMaterial;
  limits?: Partial<ConnectionLimits>;
  log(line: string): void;
  /** Whether a request may reach the API in the clear (the agent endpoint always may). */
  agentPath: string;
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface Endpoint {
  readonly tcp: NetServer;
  readonly http: HttpServer;
  readonly guard: ConnectionGuard;
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** Whether a request came over TLS. */
const encrypted = (req: IncomingMessage) => (req.socket as Partial<TLSSocket>).encrypted === true;

/**
 * `raw` as a plain stream. TLS over a TCP socket would read from its handle directly and miss
 * the first bytes, read (and put back) to tell TLS from plain HTTP; over a stream it reads them.
 */
function streamOf(raw: Socket): Duplex {
  const s = new Duplex({
    read: () => void raw.resume(),
    write: (chunk, encoding, cb) => void raw.write(chunk, encoding, cb),
    final: (cb) => void raw.end(cb),
    destroy: (err, cb) => {
      raw.destroy(err ?? undefined);
      cb(err);
    },
  });
  raw.on('data', (chunk) => {
    if (!s.push(chunk)) raw.pause();
  });
  raw.on('end', () => s.push(null));
  raw.on('close', () => s.destroy());
  return s;
}

/** Listens on host:port; resolves once listening. */
export async function listenEndpoint(o: EndpointOptions): Promise<Endpoint> {
  const guard = new ConnectionGuard({ ...defaultConnectionLimits(), ...o.limits }, o.log);
  const http = createHttpServer();
  // A silent request is not kept: its headers within 10 s, the whole of it within 2 min.
  http.headersTimeout = 10_000;
  http.requestTimeout = 120_000;
  const secure = o.tls ? createSecureContext({ cert: o.tls.cert, key: o.tls.key }) : undefined;
  const plainRefusal = 'this controller serves clients over TLS only: use https:// (and pin its fingerprint, as the controller printed)';
  http.on('request', (req, res) => {
    if (secure && !encrypted(req)) return void res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end(plainRefusal + '\n');
    o.onRequest(req, res);
  });
  http.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    if (secure && !encrypted(req) && (req.url ?? '').split('?')[0] !== o.agentPath) {
      socket.end(`HTTP/1.1 426 Upgrade Required\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${plainRefusal}\n`);
      return;
    }
    o.onUpgrade(req, socket, head);
  });
  http.on('clientError', (_err, socket) => socket.destroy());

  const tcp = createNetServer((raw) => {
    raw.on('error', () => {});
    if (!guard.admit(raw)) return;
    if (!secure) return void http.emit('connection', raw);
    raw.once('data', (first: Buffer) => {
      raw.pause();
      raw.unshift(first);
      if (first[0] !== TLS_HANDSHAKE) {
        http.emit('connection', raw);
        raw.resume();
        return;
      }
      const tls = new TLSSocket(streamOf(raw), { isServer: true, secureContext: secure, ALPNProtocols: ['http/1.1'] });
      guard.alias(tls, raw);
      tls.on('error', () => raw.destroy());
      const timer = setTimeout(() => raw.destroy(), TLS_HANDSHAKE_MS);
      tls.once('secure', () => {
        clearTimeout(timer);
        http.emit('connection', tls);
      });
      tls.once('close', () => clearTimeout(timer));
      raw.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(o.port, o.host, () => resolve());
  });
  // The HTTP server does not listen itself; this starts its checks of request timeouts.
  http.emit('listening');
  return {
    tcp,
    http,
    guard,
    address: tcp.address() as AddressInfo,
    close: async () => {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      http.closeAllConnections();
      http.close();
    },
  };
}

/**
 * Answers a request that must not be read: a body over the limit (413), or a body from a caller
 * without the token (401). Returns whether it answered. Bodies without a Content-Length are
 * counted as they arrive by the tRPC handler (`maxBodySize`).
 */
export function refuseBody(req: IncomingMessage, res: ServerResponse, authorized: boolean): boolean {
  const declared = Number(req.headers['content-length'] ?? 0);
  const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return false;
  let status: number, message: string;
  if (!authorized) {
    status = 401;
    message = 'missing or wrong bearer token';
  } else if (declared > MAX_MESSAGE_BYTES) {
    status = 413;
    message = `request body of ${mib(declared)} is over the controller's limit of ${mib(MAX_MESSAGE_BYTES)}: send a job's arguments in chunks (map.append; connect() does this)`;
  } else {
    return false;
  }
  // Not read, so the connection cannot be reused: it closes once this is sent.
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ error: { message, code: status === 401 ? -32001 : -32600, data: { code: status === 401 ? 'UNAUTHORIZED' : 'PAYLOAD_TOO_LARGE', httpStatus: status } } }));
  return true;
}
