/**
 * Bounds the connections of the controller's port, so silent or slow connections from anyone
 * can neither use up its file descriptors (which it needs to start agents) nor lock out clients
 * with the token. A connection is a stranger's until it shows the token or asks for the agent
 * endpoint (which has its own budget); strangers are few (`maxUnproven`), short-lived
 * (`unprovenTimeoutMs`), and the oldest gives way to a new one, so a flood only churns itself
 * while a client's request, sent as soon as it connects, gets through.
 */
import { connectionCap } from '../descriptors.js';
import type { Socket } from 'node:net';

/** Limits of a controller's connections. */
export interface ConnectionLimits {
  /** Connections at once, clients' and agents'. @default the open-file limit less the descriptors kept in reserve (256) */
  maxConnections: number;
  /** Connections that have not shown the token (nor gone to the agent endpoint) yet. @default 256 */
  maxUnproven: number;
  /** How long such a connection may stay, in ms. @default 15000 */
  unprovenTimeoutMs: number;
}

/** The default limits on this machine: in all, what the descriptor reserve leaves for sockets. */
export function defaultConnectionLimits(): ConnectionLimits {
  const cap = connectionCap();
  const maxConnections = Number.isFinite(cap) ? cap : 16_384;
  return { maxConnections, maxUnproven: Math.min(256, Math.max(16, Math.floor(maxConnections / 4))), unprovenTimeoutMs: 15_000 };
}

export class ConnectionGuard {
  private readonly counted = new Set<Socket>();
  /** Strangers' connections, oldest first, with the timer that ends each. */
  private readonly unproven = new Map<Socket, NodeJS.Timeout>();
  /** Wrapping sockets (TLS) to the raw connection they run on. */
  private readonly raw = new WeakMap<object, Socket>();
  private shed = 0;
  private shedLogged = 0;

  constructor(
    readonly limits: ConnectionLimits,
    private readonly log: (line: string) => void,
  ) {}

  /** Connections open now, and how many of them are strangers'. */
  get counts(): { open: number; unproven: number } {
    return { open: this.counted.size, unproven: this.unproven.size };
  }

  /** Takes a new connection in, making room by closing the oldest stranger's; false when it was refused. */
  admit(socket: Socket): boolean {
    if (this.counted.size >= this.limits.maxConnections && !this.evictOldest()) {
      socket.destroy();
      this.noteShed();
      return false;
    }
    if (this.unproven.size >= this.limits.maxUnproven) this.evictOldest();
    this.counted.add(socket);
    socket.once('close', () => this.drop(socket));
    const timer = setTimeout(() => socket.destroy(), this.limits.unprovenTimeoutMs);
    timer.unref();
    this.unproven.set(socket, timer);
    return true;
  }

  /** `wrapper` (a TLS socket) runs on `socket`: settling it settles the connection. */
  alias(wrapper: object, socket: Socket): void {
    this.raw.set(wrapper, socket);
  }

  /** The connection showed the token, or went to the agent endpoint: no longer a stranger's. */
  settle(socket: object): void {
    const raw = this.raw.get(socket) ?? (socket as Socket);
    const timer = this.unproven.get(raw);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.unproven.delete(raw);
  }

  private drop(socket: Socket): void {
    this.counted.delete(socket);
    clearTimeout(this.unproven.get(socket));
    this.unproven.delete(socket);
  }

  private evictOldest(): boolean {
    const oldest = this.unproven.keys().next();
    if (oldest.done) return false;
    this.drop(oldest.value);
    oldest.value.destroy();
    this.noteShed();
    return true;
  }

  /** One log line a minute at most, counting what was shed since the last. */
  private noteShed(): void {
    this.shed++;
    const now = Date.now();
    if (now - this.shedLogged < 60_000) return;
    this.shedLogged = now;
    this.log(`connection limits reached (${this.limits.maxConnections} in all, ${this.limits.maxUnproven} without a token): closed ${this.shed} connection(s) since the last such line`);
    this.shed = 0;
  }
}
