/**
 * The controller's front door: one port carrying the tRPC API (HTTP and WebSocket, bearer token
 * required) and the agent endpoint (WebSocket path /agent), plus the Unix socket local agents
 * dial. It dispatches requests and upgrades; what they ask goes to the control plane.
 */
import type { IncomingMessage, Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { AGENT_PATH } from '../agent-endpoint.js';
import type { AgentEndpoint } from '../agent-endpoint.js';
import { appRouter } from '../router.js';
import type { Context } from '../trpc.js';
import type { ControlPlane } from '../control-plane.js';
import { MAX_MESSAGE_BYTES, mib } from '../../contract/limits.js';
import { listenEndpoint, refuseBody } from './endpoint.js';
import type { Endpoint } from './endpoint.js';
import { listenLocalSocket } from './local-socket.js';
import type { ConnectionLimits } from './connection-guard.js';
import type { TlsSetup } from './tls.js';
import { bearerAuthorized } from './auth.js';
import { DASHBOARD_WS_PATH } from '../dashboard/index.js';
import type { Dashboard } from '../dashboard/index.js';

export interface FrontOptions {
  host: string;
  port: number;
  tls: TlsSetup | undefined;
  /** Required of clients as `Authorization: Bearer`; none: every caller is authorized. */
  token: string | undefined;
  /** Where the Unix socket for local agents goes. */
  stateDir: string;
  limits?: Partial<ConnectionLimits>;
  /** Sockets that do not keep the process alive (an embedded controller's). */
  unref: boolean;
  plane: ControlPlane;
  agents: AgentEndpoint;
  /** The live dashboard: its page at `/`, its stream at /dashboard/ws. */
  dashboard?: Dashboard;
  log(line: string): void;
}

/**
 * A client's WebSocket that sends a message over the limit is closed by `ws` with 1009 and no
 * reason; this gives the close its reason, so the client reads why.
 */
function explainTooBig(ws: WebSocket): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) => close(code, reason ?? (code === 1009 ? `message over the controller's limit of ${mib(MAX_MESSAGE_BYTES)}` : undefined));
}

export class Front {
  /** http(s)://host:port of the API. */
  readonly url: string;
  /** ws://host:port/agent, where agents dial. */
  readonly agentUrl: string;
  /** Where local agents dial: the Unix socket in the state folder when there is one, else agentUrl. */
  readonly localAgentUrl: string;

  private constructor(
    private readonly server: Endpoint,
    private readonly trpcWss: WebSocketServer,
    private readonly local: { server: Server; url: string } | undefined,
    tls: boolean,
  ) {
    const addr = server.address;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${tls ? 'https' : 'http'}://${h}:${addr.port}`;
    // Agents speak in the clear on the same port even with TLS: their channel is sealed end to end.
    this.agentUrl = `ws://${h}:${addr.port}${AGENT_PATH}`;
    this.localAgentUrl = local?.url ?? this.agentUrl;
  }

  /** Listens on `host:port` (and the state folder's Unix socket) and serves until `close`. */
  static async listen(o: FrontOptions): Promise<Front> {
    const authorized = (req: IncomingMessage) => bearerAuthorized(req, o.token);
    const createContext = (req: IncomingMessage): Context => ({ plane: o.plane, authorized: authorized(req) });
    const http = createHTTPHandler({ router: appRouter, createContext: ({ req }) => createContext(req), basePath: '/trpc/', maxBodySize: MAX_MESSAGE_BYTES });
    const trpcWss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
    trpcWss.on('connection', explainTooBig);
    applyWSSHandler({ wss: trpcWss, router: appRouter, createContext: ({ req, res }) => ({ ...createContext(req), ws: res }), keepAlive: { enabled: true, pingMs: 10_000, pongWaitMs: 5_000 } });
    const server: Endpoint = await listenEndpoint({
      host: o.host,
      port: o.port,
      tls: o.tls,
      limits: o.limits,
      log: o.log,
      agentPath: AGENT_PATH,
      onRequest: (req, res) => {
        const ok = authorized(req);
        if (ok) server.guard.settle(req.socket);
        if (refuseBody(req, res, ok)) return;
        if (req.url?.startsWith('/trpc/')) return void http(req, res);
        if (o.dashboard?.handleRequest(req, res, () => server.guard.settle(req.socket))) return;
        res.writeHead(404, { 'content-type': 'text/plain' }).end('flotilla controller: dashboard at /, API under /trpc/, agents under /agent\n');
      },
      onUpgrade: (req, socket, head) => {
        const path = (req.url ?? '').split('?')[0];
        if (path === AGENT_PATH) {
          server.guard.settle(req.socket); // the agent endpoint keeps its own budget of strangers
          o.agents.handleUpgrade(req, socket, head);
        } else if (path === '/trpc' || path === '/trpc/') {
          // No socket at all without the token: nobody unauthenticated can make us buffer messages.
          if (!authorized(req)) {
            socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nmissing or wrong bearer token\n');
            return;
          }
          server.guard.settle(req.socket);
          trpcWss.handleUpgrade(req, socket, head, (ws) => trpcWss.emit('connection', ws, req));
        } else if (path === DASHBOARD_WS_PATH && o.dashboard) o.dashboard.handleUpgrade(req, socket, head, () => server.guard.settle(req.socket));
        else socket.destroy();
      },
    });
    if (o.unref) server.tcp.unref();
    let local: Awaited<ReturnType<typeof listenLocalSocket>>;
    try {
      local = await listenLocalSocket(o.stateDir, (req, socket, head) => o.agents.handleUpgrade(req, socket, head, 'unix'), o.log);
    } catch (err) {
      await server.close();
      throw err;
    }
    if (local && o.unref) local.server.unref();
    return new Front(server, trpcWss, local, !!o.tls);
  }

  /** The clients' WebSockets connected now. */
  get clients(): ReadonlySet<WebSocket> {
    return this.trpcWss.clients;
  }

  /** Ends client sockets (after their last messages), then stops listening. */
  async close(): Promise<void> {
    // Let the result streams' CLOSED errors reach their clients before the sockets go.
    if (this.trpcWss.clients.size > 0) await sleep(50);
    for (const ws of this.trpcWss.clients) ws.terminate();
    this.trpcWss.close();
    await this.server.close();
    if (this.local) {
      const { server } = this.local;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
    }
  }
}
