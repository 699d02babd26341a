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
import { acceptChannel, CLOSE, PING_SILENCE_MS } from '../agent/protocol/channel.js';
import type { Identity } from '../agent/protocol/identity.js';
import type { ToAgent, ToController } from '../contract/messages.js';
import type { SecureChannel } from '../agent/protocol/channel.js';
import type { AgentRegistry } from './registry.js';
import type { Scheduler } from './scheduler.js';
import { Lane } from './lane.js';
import type { AgentExit } from './launchers/launcher.js';
import { checkMessage } from './wire-checks.js';
import { HandshakeBudget } from './handshake-budget.js';
import { RefusalLog, refusalReason } from './refusal-log.js';
import { connectionCap } from './descriptors.js';

export const AGENT_PATH = '/agent';
/** How often every agent connection is pinged. @default 5 s */
export const DEFAULT_HEARTBEAT_MS = 5_000;
/** Bytes a peer may send before it has proved who it is; a genuine handshake needs ~300. */
const PRE_AUTH_BYTES = 64 * 1024;
/** Handshakes in progress at once, per listener (TCP, Unix socket); beyond this, new sockets are turned away. */
const MAX_PENDING_HANDSHAKES = 256;
/** Of which at most this many from one address: a 64-slot agent dials its lanes at once. */
const MAX_PENDING_PER_SOURCE = 80;
/** Time a peer has from the upgrade to a valid AUTH: a genuine agent needs milliseconds. */
export const PRE_AUTH_TIMEOUT_MS = 5_000;
/** Agent connections at once, however many are authenticated; the rest of the descriptors stay free. */
const MAX_AGENT_CONNECTIONS = Math.min(10_000, connectionCap());

/** Which listener a connection came in on. */
export type Via = 'tcp' | 'unix';
/**
 * How long a lane that dropped abnormally waits for its agent to say why (the supervisor's
 * report of the thread's death comes on the control connection, which may lag the lane's own).
 */
const LANE_END_WAIT_MS = 2_000;
/** The WebSocket close code of a connection that dropped without a close frame. */
const ABNORMAL_CLOSURE = 1006;

/** Why a lane's thread died, as its agent reported it. */
interface LaneEnd {
  exitCode: number | null;
  signal?: string;
  cause: string;
  stderrTail: string;
}

export interface AgentEndpointOptions {
  identity: Identity;
  registry: AgentRegistry;
  scheduler: Scheduler;
  maxFrameBytes: number;
  /** Ping interval; an agent's control connection that misses two pongs takes its lanes down. */
  heartbeatMs?: number;
  /** How an agent's process ends, when one of our launchers started it (exit code, stderr tail). */
  exitOf?(agentId: string): Promise<AgentExit> | undefined;
  /** Let the process exit while agents are connected (embedded controller). */
  unrefSockets: boolean;
  log(line: string): void;
}

export class AgentEndpoint {
  private readonly wss: WebSocketServer;
  private readonly pinger: NodeJS.Timeout;
  /** Separate budgets: strangers on the network cannot use up the local agents' share. */
  private readonly budgets: Record<Via, HandshakeBudget> = {
    tcp: new HandshakeBudget(MAX_PENDING_HANDSHAKES, MAX_PENDING_PER_SOURCE),
    unix: new HandshakeBudget(MAX_PENDING_HANDSHAKES, MAX_PENDING_HANDSHAKES),
  };
  /** Refusals and socket errors, logged at a bounded rate. */
  readonly refusals: RefusalLog;
  /** Each agent's control connection (its supervisor thread, never blocked by tasks). */
  private readonly controls = new Map<string, SecureChannel>();
  /** Pings missed in a row, per socket. */
  private readonly missed = new WeakMap<WebSocket, number>();
  /** Lane deaths reported and not yet matched with their lane's close, by `agentId lane`. */
  private readonly laneEnds = new Map<string, LaneEnd>();
  /** Closed lanes waiting for such a report. */
  private readonly waiting = new Map<string, (end: LaneEnd | undefined) => void>();
  /** Agents whose control connection has closed: they will report nothing more. */
  private readonly goneAgents = new Set<string>();
  /** How each lane's agent process ends, looked up when the lane connects (its handle goes at exit). */
  private readonly exits = new WeakMap<Lane, Promise<AgentExit>>();
  /** Sockets this endpoint ended for silence: their reason is known, nobody will report another. */
  private readonly silenced = new WeakSet<WebSocket>();
  /** The secure channel on each socket past its handshake: whether it was heard from since the last ping round. */
  private readonly channels = new WeakMap<WebSocket, SecureChannel>();
  /** Sockets not pinged in the last round (they had been heard from): the next round pings them. */
  private readonly unpinged = new WeakSet<WebSocket>();
  /** Whether a socket heard from may skip a round: only if two intervals stay within the agent's silence limit. */
  private readonly mayRest: boolean;

  constructor(private readonly opts: AgentEndpointOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false });
    this.wss.on('error', (err) => opts.log(`agent endpoint error: ${err.message}`));
    this.refusals = new RefusalLog(opts.log);
    const every = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.mayRest = 2 * every < PING_SILENCE_MS;
    this.pinger = setInterval(() => this.ping(), every);
    this.pinger.unref();
  }

  /** Takes an upgrade request for the agent path, from the TCP port or the local Unix socket. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, via: Via = 'tcp'): void {
    if (this.wss.clients.size >= MAX_AGENT_CONNECTIONS) {
      this.refusals.note(req.socket.remoteAddress ?? 'the local socket', 'agent endpoint full');
      socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.accept(ws, req, via));
  }

  private async accept(ws: WebSocket, req: IncomingMessage, via: Via): Promise<void> {
    const source = via === 'unix' ? 'the local socket' : (req.socket.remoteAddress ?? 'unknown');
    const from = via === 'unix' ? source : `${source}:${req.socket.remotePort}`;
    if (this.opts.unrefSockets) req.socket.unref();
    ws.on('error', (err) => this.refusals.note(from, `socket error: ${refusalReason(err)}`));
    ws.on('pong', () => this.missed.set(ws, 0));
    const pending = { terminate: () => ws.terminate() };
    const full = this.budgets[via].admit(source, pending);
    if (full) {
      this.refusals.note(from, full.replace(` from ${source}`, ' from one address'));
      ws.close(1013, full);
      return;
    }
    // Until the handshake is done, the peer is nobody: it may not make us hold large frames.
    let preAuth = 0;
    const limit = (chunk: Buffer) => {
      preAuth += chunk.length;
      if (preAuth > PRE_AUTH_BYTES) req.socket.destroy();
    };
    req.socket.on('data', limit);
    let accepted;
    try {
      accepted = await acceptChannel(ws, { identity: this.opts.identity, lookup: (id) => this.opts.registry.lookup(id), timeoutMs: PRE_AUTH_TIMEOUT_MS });
    } catch (err) {
      this.refusals.note(from, refusalReason(err));
      return;
    } finally {
      this.budgets[via].release(pending);
      req.socket.off('data', limit);
    }
    const { channel, agentId } = accepted;
    this.channels.set(ws, channel);
    let lane: Lane | undefined;
    let control = false;
    channel.onmessage = (msg: ToController) => {
      // Thrown checks close this connection with the reason (SecureChannel.receive).
      if (msg.t === 'ctl' && !control) {
        checkMessage('ctl', msg);
        control = true;
        this.controls.get(agentId)?.close(CLOSE.REPLACED, 'a newer control connection');
        this.controls.set(agentId, channel);
        this.goneAgents.delete(agentId);
        // A control connection says nothing more but why a lane died.
        channel.onmessage = (m: ToController) => {
          if (m.t === 'lane-end') this.laneEnded(agentId, checkMessage('lane-end', m));
        };
        return;
      }
      if (msg.t !== 'ready') {
        channel.close(CLOSE.BAD_FRAME, `expected ready or ctl, got ${String(msg.t)}`);
        return;
      }
      // A report left over from this slot's previous lane is not about this one.
      this.laneEnds.delete(`${agentId} ${msg.lane}`);
      lane = new Lane(channel, agentId, this.opts.registry.poolOf(agentId) ?? 'default', checkMessage('ready', msg));
      const exited = this.opts.exitOf?.(agentId);
      if (exited) this.exits.set(lane, exited);
      this.opts.scheduler.addLane(lane);
    };
    channel.onclose = (code, reason) => {
      if (lane) void this.laneClosed(lane, code, reason);
      if (control && this.controls.get(agentId) === channel) {
        this.controls.delete(agentId);
        this.goneAgents.add(agentId);
        if (this.goneAgents.size > 4096) this.goneAgents.delete(this.goneAgents.values().next().value as string);
        // The whole agent is gone: its lanes will hear no more.
        for (const [key, wake] of this.waiting) if (key.startsWith(`${agentId} `)) wake(undefined);
      }
    };
  }

  private laneEnded(agentId: string, m: { lane: number; exitCode: number; cause: string; stderrTail: string }): void {
    const key = `${agentId} ${m.lane}`;
    const end = { exitCode: m.exitCode, cause: m.cause.slice(0, 8192), stderrTail: m.stderrTail.slice(-4096) };
    const wake = this.waiting.get(key);
    if (wake) return wake(end);
    this.laneEnds.set(key, end);
    if (this.laneEnds.size > 1024) this.laneEnds.delete(this.laneEnds.keys().next().value as string);
  }

  /**
   * A lane's connection closed. When that was abnormal and its agent is still there, the agent
   * may be about to say why (its task killed the thread): the lane's runs fail with that cause
   * and the thread's last stderr lines rather than a bare close code.
   */
  private async laneClosed(lane: Lane, code: number, reason: string): Promise<void> {
    const key = `${lane.agentId} ${lane.hello.lane}`;
    let end = this.laneEnds.get(key);
    this.laneEnds.delete(key);
    // Only a socket that dropped without a close frame (1006) may be a thread or process that
    // died; one closed with a reason (by either side) says why itself, and one cut off here for
    // silence is frozen or unreachable. An agent whose control connection is not up yet may
    // still report on it once it is.
    const abnormal = code === ABNORMAL_CLOSURE && !this.silenced.has(lane.channel.ws);
    if (!end && abnormal && !this.goneAgents.has(lane.agentId)) {
      end = await new Promise<LaneEnd | undefined>((resolve) => {
        const timer = setTimeout(() => wake(undefined), LANE_END_WAIT_MS);
        timer.unref();
        const wake = (e: LaneEnd | undefined) => {
          clearTimeout(timer);
          this.waiting.delete(key);
          resolve(e);
        };
        this.waiting.set(key, wake);
      });
    }
    // The whole agent process is going: its launcher knows how it ended and what it last said.
    const exited = this.exits.get(lane);
    if (!end && abnormal && exited && !this.controls.has(lane.agentId)) {
      const exit = await new Promise<AgentExit | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), LANE_END_WAIT_MS);
        timer.unref();
        void exited.then((x) => {
          clearTimeout(timer);
          resolve(x);
        });
      });
      if (exit && (exit.signal !== null || exit.exitCode !== 0)) {
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
        end = { exitCode: exit.exitCode, ...(exit.signal ? { signal: exit.signal } : {}), cause: `the agent process ${how}`, stderrTail: exit.stderrTail.slice(-4096) };
      }
    }
    if (!end) return this.opts.scheduler.removeLane(lane, `connection closed: ${code}${reason ? ' ' + reason : ''}`);
    const headline = end.cause.split('\n')[0];
    const died = end.cause.startsWith('the agent process') ? `agent ${lane.agentId} died: ${headline}` : `lane ${lane.hello.lane} died: ${headline}`;
    this.opts.scheduler.removeLane(lane, died, { exitCode: end.exitCode, ...(end.signal ? { signal: end.signal } : {}), cause: end.cause, stderrTail: end.stderrTail });
  }

  /** Asks a lane's agent to replace it: its aborted task will not leave the slot. */
  recycle(lane: Lane, reason: string): boolean {
    const ctl = this.controls.get(lane.agentId);
    if (!ctl?.isOpen) return false;
    ctl.send({ t: 'recycle', lane: lane.hello.lane, thread: lane.hello.thread, reason } satisfies ToAgent);
    return true;
  }

  /**
   * Pings every connection. Two pongs missed in a row end a connection, except a busy lane's
   * whose agent has a control connection: a lane running synchronous code cannot answer, so its
   * agent's liveness is its control connection's. When that one goes silent the agent is frozen
   * or cut off, and all its lanes go (their tasks run elsewhere).
   */
  private ping(): void {
    // Excused from answering: busy lanes whose agent vouches for itself on its control connection.
    const busy = new Set([...this.opts.scheduler.lanes].filter((l) => (l.runs.size > 0 || l.draining.size > 0) && this.controls.has(l.agentId)).map((l) => l.channel.ws));
    const deadAgents = new Set<string>();
    for (const [agentId, ctl] of this.controls) if ((this.missed.get(ctl.ws) ?? 0) >= 2) deadAgents.add(agentId);
    for (const lane of this.opts.scheduler.lanes) if (deadAgents.has(lane.agentId)) this.silence(lane.channel.ws);
    for (const ws of this.wss.clients) {
      // A frame since the last round answers for it like a pong (with 10,000 agents, each ping
      // is a write and its pong a read); such a socket rests this round, counted as pinged, so a
      // peer that froze right after that frame is let go as soon as one that was pinged.
      const ch = this.channels.get(ws);
      const heard = ch?.heard === true;
      if (ch) ch.heard = false;
      const missed = heard ? 0 : (this.missed.get(ws) ?? 0);
      if (missed >= 2 && !busy.has(ws)) {
        this.silence(ws);
        continue;
      }
      this.missed.set(ws, missed + 1);
      // Never two rounds in a row: the agent presumes its controller gone after PING_SILENCE_MS without a ping.
      if (heard && this.mayRest && !this.unpinged.has(ws)) {
        this.unpinged.add(ws);
        continue;
      }
      this.unpinged.delete(ws);
      ws.ping();
    }
  }

  private silence(ws: WebSocket): void {
    this.silenced.add(ws);
    ws.terminate();
  }

  close(): void {
    clearInterval(this.pinger);
    this.refusals.close();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
