/**
 * The agent endpoint: a WebSocket path on the controller's port where agents dial in. Each
 * connection must finish the handshake and say `ready` before it becomes a lane; anything else
 * (unknown key, replayed handshake, garbage, oversized frames) is closed with a reason, and the
 * controller goes on serving everyone else.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { acceptChannel, CLOSE } from '../agent/protocol/channel.js';
import type { Identity } from '../agent/protocol/identity.js';
import type { ToController } from '../agent/protocol/messages.js';
import type { AgentRegistry } from './registry.js';
import type { Scheduler } from './scheduler.js';
import { Lane } from './lane.js';

export const AGENT_PATH = '/agent';
const PING_MS = 5_000;
/** Bytes a peer may send before it has proved who it is; a genuine handshake needs ~300. */
const PRE_AUTH_BYTES = 64 * 1024;
/** Handshakes in progress at once; beyond this, new sockets are turned away. */
const MAX_PENDING_HANDSHAKES = 256;

export interface AgentEndpointOptions {
  identity: Identity;
  registry: AgentRegistry;
  scheduler: Scheduler;
  maxFrameBytes: number;
  /** Let the process exit while agents are connected (embedded controller). */
  unrefSockets: boolean;
  log(line: string): void;
}

export class AgentEndpoint {
  private readonly wss: WebSocketServer;
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly pinger: NodeJS.Timeout;
  private pending = 0;

  constructor(private readonly opts: AgentEndpointOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false });
    this.wss.on('connection', (ws, req) => void this.accept(ws, req));
    this.wss.on('error', (err) => opts.log(`agent endpoint error: ${err.message}`));
    this.pinger = setInterval(() => this.ping(), PING_MS);
    this.pinger.unref();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  private async accept(ws: WebSocket, req: IncomingMessage): Promise<void> {
    const from = req.socket.remoteAddress ? `${req.socket.remoteAddress}:${req.socket.remotePort}` : "the local socket";
    if (this.opts.unrefSockets) req.socket.unref();
    ws.on('error', (err) => this.opts.log(`agent socket ${from}: ${err.message}`));
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
    if (this.pending >= MAX_PENDING_HANDSHAKES) {
      ws.close(1013, 'too many handshakes in progress');
      return;
    }
    // Until the handshake is done, the peer is nobody: it may not make us hold large frames.
    let preAuth = 0;
    const limit = (chunk: Buffer) => {
      preAuth += chunk.length;
      if (preAuth > PRE_AUTH_BYTES) req.socket.destroy();
    };
    req.socket.on('data', limit);
    this.pending++;
    let accepted;
    try {
      accepted = await acceptChannel(ws, { identity: this.opts.identity, lookup: (id) => this.opts.registry.lookup(id) });
    } catch (err) {
      this.opts.log(`refused agent connection from ${from}: ${(err as Error).message}`);
      return;
    } finally {
      this.pending--;
      req.socket.off('data', limit);
    }
    const { channel, agentId } = accepted;
    let lane: Lane | undefined;
    channel.onmessage = (msg: ToController) => {
      if (msg.t !== 'ready') {
        channel.close(CLOSE.BAD_FRAME, `expected ready, got ${String(msg.t)}`);
        return;
      }
      lane = new Lane(channel, agentId, this.opts.registry.poolOf(agentId) ?? 'default', msg);
      this.opts.scheduler.addLane(lane);
    };
    channel.onclose = (code, reason) => {
      if (lane) this.opts.scheduler.removeLane(lane, `connection closed: ${code}${reason ? ' ' + reason : ''}`);
    };
  }

  /** Pings every agent; one that missed the previous pong while holding no task is dropped. */
  private ping(): void {
    const busy = new Set([...this.opts.scheduler.lanes].filter((l) => l.runs.size > 0).map((l) => l.channel.ws));
    for (const ws of this.wss.clients) {
      // A lane running synchronous code cannot answer; its agent's supervisor bounds that case.
      if (!this.alive.get(ws) && !busy.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }

  close(): void {
    clearInterval(this.pinger);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
