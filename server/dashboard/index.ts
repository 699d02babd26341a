/**
 * The live dashboard, on the controller's own port: the page at `/`, its files under
 * `/dashboard/`, its stream at `/dashboard/ws`, all behind the controller's token (exchanged once
 * for a cookie, see auth.ts). The stream is one aggregator shared by every open page, subscribed
 * to the control events only while a page is open, sending each page a frame at most every
 * 250 ms: aggregates that changed and the events since its last frame, bounded. A page that
 * reads slower than that is skipped, then sent a full frame once it has caught up, so a slow
 * browser never makes the controller's memory grow.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { Aggregator } from './aggregator.js';
import type { Cursor, DashboardSource } from './aggregator.js';
import { DashboardAuth } from './auth.js';
import { SECURITY_HEADERS, sendAsset } from './assets.js';
import { dashboardLoginUrl } from '../../contract/dashboard-url.js';

export type { DashboardSource } from './aggregator.js';

/** Where the page's WebSocket connects. */
export const DASHBOARD_WS_PATH = '/dashboard/ws';
const FRAME_MS = 250;
/** Gauges are sampled every this many frames (once a second). */
const SAMPLE_EVERY = 4;
/** Every this many frames (15 s) each page is pinged; one that has not answered the last ping is dropped. */
const PING_EVERY = 60;
/** A page with more than this unsent is skipped until it has read it. */
const MAX_BUFFERED = 4 * 2 ** 20;

export interface DashboardOptions {
  token: string | undefined;
  /** Served over TLS: the cookie is Secure and the page's origin https. */
  secure: boolean;
  /** Don't keep the process alive for the frame timer (embedded controllers). */
  unref?: boolean;
}

/** Called once a request has shown the token or the cookie: its connection is no longer a stranger's (see ConnectionGuard). */
export type Settle = () => void;

interface Viewer {
  ws: WebSocket;
  cursor: Cursor;
  full: boolean;
  /** It answered the last ping. */
  alive: boolean;
}

export class Dashboard {
  private readonly auth: DashboardAuth;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  private readonly viewers = new Set<Viewer>();
  private aggregator: Aggregator | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;

  constructor(
    private readonly source: DashboardSource,
    private readonly opts: DashboardOptions,
  ) {
    this.auth = new DashboardAuth(opts.token, opts.secure);
  }

  /** The URL that logs a browser in: `base` with the token, once. */
  loginUrl(base: string): string {
    return dashboardLoginUrl(base, this.opts.token);
  }

  /** Answers a request for the page or its files; false when it is not the dashboard's. */
  handleRequest(req: IncomingMessage, res: ServerResponse, settle: Settle = () => {}): boolean {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path !== '/' && path !== '/index.html' && !path.startsWith('/dashboard/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return true;
    }
    const given = url.searchParams.get('token');
    if (given !== null && path === '/') {
      if (!this.auth.tokenMatches(given)) return this.refuse(res);
      settle();
      // The token goes no further than this answer: the redirect's URL and the page's have none.
      res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': this.auth.setCookie(req), 'cache-control': 'no-store' }).end();
      return true;
    }
    if (!this.auth.cookieOk(req)) return this.refuse(res);
    settle();
    sendAsset(res, path === '/' ? 'index.html' : path.slice(path.lastIndexOf('/') + 1), req.method === 'HEAD');
    return true;
  }

  private refuse(res: ServerResponse): true {
    res.writeHead(401, { ...SECURITY_HEADERS, 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('401 Unauthorized\n');
    return true;
  }

  /** Takes the page's WebSocket upgrade: its cookie and its own origin, or 401/403 and nothing. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, settle: Settle = () => {}): void {
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${status}\n`);
    if (!this.auth.cookieOk(req)) return void refuse('401 Unauthorized');
    if (!this.auth.sameOrigin(req)) return void refuse('403 Forbidden');
    settle();
    this.wss.handleUpgrade(req, socket, head, (ws) => this.watch(ws));
  }

  private watch(ws: WebSocket): void {
    const viewer: Viewer = { ws, cursor: Aggregator.cursor(), full: true, alive: true };
    ws.on('error', () => ws.terminate());
    ws.on('pong', () => (viewer.alive = true));
    ws.on('close', () => this.leave(viewer));
    this.aggregator ??= new Aggregator(this.source);
    this.viewers.add(viewer);
    this.send(viewer);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), FRAME_MS);
      if (this.opts.unref) this.timer.unref();
    }
  }

  private leave(viewer: Viewer): void {
    this.viewers.delete(viewer);
    if (this.viewers.size > 0) return;
    // Nobody watches: the control events cost nothing again.
    clearInterval(this.timer);
    this.timer = undefined;
    this.aggregator?.close();
    this.aggregator = undefined;
  }

  private tick(): void {
    if (!this.aggregator) return;
    if (++this.ticks % SAMPLE_EVERY === 0) this.aggregator.sample();
    const ping = this.ticks % PING_EVERY === 0;
    for (const v of this.viewers) {
      if (ping) {
        // A page whose machine went away leaves no close: its socket would hold frames forever.
        if (!v.alive) {
          v.ws.terminate();
          continue;
        }
        v.alive = false;
        v.ws.ping();
      }
      this.send(v);
    }
  }

  private send(v: Viewer): void {
    if (v.ws.readyState !== v.ws.OPEN) return;
    if (v.ws.bufferedAmount > MAX_BUFFERED) {
      v.full = true;
      return;
    }
    const frame = this.aggregator!.frame(v.cursor, v.full);
    v.full = false;
    const empty = !frame.full && !frame.jobs && !frame.agents && !frame.pools && !frame.flows && frame.spans.length + frame.failures.length + frame.launches.length + frame.logs.length === 0;
    if (!empty) v.ws.send(JSON.stringify(frame));
  }

  /** Views open now. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  close(): void {
    for (const v of this.viewers) v.ws.terminate();
    this.viewers.clear();
    this.wss.close();
    clearInterval(this.timer);
    this.aggregator?.close();
    this.aggregator = undefined;
  }
}
