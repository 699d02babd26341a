/**
 * The secure channel over a `ws` WebSocket, used by both ends: the controller accepts, the agent
 * dials. After the handshake every binary message is one sealed frame. Anything off (text
 * frames, a frame that does not open, a malformed message, a slow handshake) closes the socket
 * with a code and a reason; it never throws into the caller's event loop.
 */
import type { WebSocket, RawData } from 'ws';
import { AgentHandshake, ControllerHandshake } from './handshake.js';
import type { SessionKeys } from './handshake.js';
import type { Identity } from './identity.js';
import { Opener, Sealer, TAG } from './seal.js';
import { decodeFrame, encodeFrame } from './frame.js';
import { canWriteDirect, directCapable, headerBytes, isClient, writeDirect, writeHeader } from './ws-write.js';
import { FlotillaError } from '../../contract/errors.js';

/** WebSocket close codes the channel uses; 44xx mirror HTTP so a log reader can guess them. */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  SHUTDOWN: 4000,
  BAD_FRAME: 4400,
  UNAUTHORIZED: 4401,
  HANDSHAKE_TIMEOUT: 4408,
  REPLACED: 4409,
});

/**
 * An agent presumes its controller gone after this long without a ping from it; the controller
 * therefore never leaves a connection unpinged for this long.
 */
export const PING_SILENCE_MS = 16_000;

/** Default time a peer has to finish the handshake. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function closeWith(ws: WebSocket, code: number, reason: string): void {
  // A close reason is at most 123 bytes on the wire.
  const r = Buffer.from(reason).subarray(0, 123).toString();
  try {
    ws.close(code, r);
  } catch {
    ws.terminate();
  }
  // A peer that never answers the close handshake must not hold the socket open.
  setTimeout(() => ws.terminate(), 2000).unref();
}

/** A sealed, ordered message stream between one agent and its controller. */
export class SecureChannel {
  /** Called for every message that opened and decoded. */
  onmessage: ((msg: any, bins: Buffer[]) => void) | undefined;
  /** Called once when the socket closes, with the code and reason. */
  onclose: ((code: number, reason: string) => void) | undefined;
  private readonly sealer: Sealer;
  private readonly opener: Opener;
  /** The client end masks its frames (with a zero key: see ws-write.ts). */
  private readonly masked: boolean;
  /** Whether frames may skip `ws.send` (see ws-write.ts). */
  private readonly direct: boolean;
  private closed = false;
  /**
   * Set on every frame that opens: the peer was alive since the flag was last cleared. The
   * controller reads and clears it at each ping round, so a connection that talks needs no ping.
   */
  heard = false;

  constructor(readonly ws: WebSocket, keys: SessionKeys, side: 'agent' | 'controller') {
    this.sealer = new Sealer(side === 'agent' ? keys.toController : keys.toAgent);
    this.opener = new Opener(side === 'agent' ? keys.toAgent : keys.toController);
    this.masked = isClient(ws);
    this.direct = directCapable(ws);
    ws.removeAllListeners('message');
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.once('close', (code, reason) => {
      this.closed = true;
      this.onclose?.(code, reason.toString());
    });
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    let msg: unknown, bins: Buffer[];
    try {
      if (!isBinary) throw new FlotillaError('CHANNEL', 'text frame on a binary channel');
      ({ msg, bins } = decodeFrame(this.opener.open(toBuffer(data))));
      if (typeof msg !== 'object' || msg === null || typeof (msg as { t?: unknown }).t !== 'string') {
        throw new FlotillaError('CHANNEL', 'message without a type');
      }
    } catch (err) {
      this.close(CLOSE.BAD_FRAME, (err as Error).message);
      return;
    }
    this.heard = true;
    try {
      this.onmessage?.(msg, bins);
    } catch (err) {
      // A sealed message from an authenticated peer that its handler cannot take: end this
      // connection, never the process that serves the others.
      this.close(CLOSE.BAD_FRAME, `bad message: ${(err as Error).message}`);
    }
  }

  /** Seals and sends one message with optional binary attachments. */
  send<M extends { t: string }>(msg: M, bins?: readonly Uint8Array[]): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    const plain = encodeFrame(msg, bins);
    if (!this.direct || !canWriteDirect(this.ws)) {
      this.ws.send(this.sealer.seal(plain), { binary: true });
      return;
    }
    const n = plain.length + TAG;
    const frame = this.sealer.sealAfter(plain, headerBytes(n, this.masked));
    writeHeader(frame, n, this.masked);
    writeDirect(this.ws, frame);
  }

  /**
   * Makes the ciphers of the next frame each way now, while the peer works on what was just
   * sent: a call's round trip then makes none (seal.ts). For a side that expects an answer.
   */
  prepare(): void {
    if (this.closed) return;
    this.opener.prepare();
    this.sealer.prepare();
  }

  /** Bytes queued in the socket but not yet written: the channel's backpressure signal. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  /** Closes with a code and a reason the peer can log. */
  close(code: number = CLOSE.NORMAL, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    closeWith(this.ws, code, reason);
  }
}

function handshakeStep(ws: WebSocket, timeoutMs: number, what: string): { next(): Promise<Buffer>; done(): void } {
  const queue: Buffer[] = [];
  let waiter: { resolve(b: Buffer): void; reject(e: Error): void } | undefined;
  let failure: Error | undefined;
  const failAll = (e: Error) => {
    failure ??= e;
    waiter?.reject(failure);
    waiter = undefined;
  };
  const timer = setTimeout(() => {
    failAll(new FlotillaError('CHANNEL', `${what} handshake timed out after ${timeoutMs} ms`));
    closeWith(ws, CLOSE.HANDSHAKE_TIMEOUT, 'handshake timed out');
  }, timeoutMs);
  const onMessage = (data: RawData, isBinary: boolean) => {
    if (!isBinary) {
      failAll(new FlotillaError('CHANNEL', 'text frame during handshake'));
      closeWith(ws, CLOSE.BAD_FRAME, 'text frame during handshake');
      return;
    }
    const b = toBuffer(data);
    if (waiter) {
      waiter.resolve(b);
      waiter = undefined;
    } else queue.push(b);
  };
  // Not final, even as 4401: anyone on the path can close a socket. A final refusal is signed (REFUSE).
  const onClose = (code: number, reason: Buffer) => failAll(new FlotillaError('CHANNEL', `peer closed during handshake (${code} ${reason.toString()})`));
  const onError = (err: Error) => failAll(new FlotillaError('CHANNEL', `socket error during handshake: ${err.message}`, { cause: err }));
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.on('error', onError);
  return {
    next: () => {
      if (failure) return Promise.reject(failure);
      const b = queue.shift();
      if (b) return Promise.resolve(b);
      return new Promise((resolve, reject) => (waiter = { resolve, reject }));
    },
    done: () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      ws.off('error', onError);
    },
  };
}

function whenOpen(ws: WebSocket): Promise<void> {
  if (ws.readyState === ws.OPEN) return Promise.resolve();
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('close', (code) => reject(new FlotillaError('CHANNEL', `socket closed before opening (${code})`)));
  });
}

/** Options for `acceptChannel`. */
export interface AcceptOptions {
  identity: Identity;
  /** The public key issued to this agent id, or undefined if unknown or revoked. */
  lookup(agentId: string): Uint8Array | undefined;
  timeoutMs?: number;
}

/**
 * Controller side: runs the handshake on a freshly accepted socket. On failure the socket is
 * closed with the reason and the promise rejects; the caller only logs it.
 */
export async function acceptChannel(ws: WebSocket, opts: AcceptOptions): Promise<{ channel: SecureChannel; agentId: string }> {
  const hs = new ControllerHandshake(opts.identity);
  const step = handshakeStep(ws, opts.timeoutMs ?? HANDSHAKE_TIMEOUT_MS, 'agent');
  let auth: Buffer | undefined;
  try {
    ws.send(hs.hello, { binary: true });
    auth = await step.next();
    const { agentId, keys, welcome } = hs.onAuth(auth, opts.lookup);
    ws.send(welcome, { binary: true });
    step.done();
    return { channel: new SecureChannel(ws, keys, 'controller'), agentId };
  } catch (err) {
    step.done();
    const e = FlotillaError.from(err, 'CHANNEL');
    if (e.code === 'UNAUTHORIZED' && auth) {
      // Signed, so the agent can tell this refusal from a relay's forgery and stop dialling.
      if (ws.readyState === ws.OPEN) ws.send(hs.refusal(auth), { binary: true });
      closeWith(ws, CLOSE.UNAUTHORIZED, e.message);
    } else closeWith(ws, CLOSE.BAD_FRAME, e.message);
    throw e;
  }
}

/** Options for `dialChannel`. */
export interface DialOptions {
  agentId: string;
  identity: Identity;
  controllerKey: Uint8Array;
  timeoutMs?: number;
}

/**
 * Agent side: waits for the socket to open, then runs the handshake. Rejects UNAUTHORIZED with
 * `context.refused` only for a refusal the controller signed; every other failure may be
 * tampering on the way and is worth another dial.
 */
export async function dialChannel(ws: WebSocket, opts: DialOptions): Promise<SecureChannel> {
  const hs = new AgentHandshake(opts.agentId, opts.identity, opts.controllerKey);
  const step = handshakeStep(ws, opts.timeoutMs ?? HANDSHAKE_TIMEOUT_MS, 'controller');
  try {
    await whenOpen(ws);
    ws.send(hs.onHello(await step.next()), { binary: true });
    const keys = hs.onReply(await step.next());
    step.done();
    return new SecureChannel(ws, keys, 'agent');
  } catch (err) {
    step.done();
    const e = FlotillaError.from(err, 'CHANNEL');
    closeWith(ws, e.code === 'UNAUTHORIZED' ? CLOSE.UNAUTHORIZED : CLOSE.BAD_FRAME, e.message);
    throw e;
  }
}
