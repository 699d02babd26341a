/**
 * Shared pieces of the security suite: a disposable controller, a raw WebSocket peer that speaks
 * the agent endpoint byte by byte (so a test can record, replay, flip and reorder), and waits
 * built on events rather than sleeps.
 */
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect as tcpConnect, createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { Controller } from '../../server/controller.js';
import type { ControllerOptions } from '../../server/controller.js';
import type { Lane } from '../../server/lane.js';
import { agentBundlePath } from '../../server/bundle.js';
import { Session } from '../../client/session.js';
import { localClient, localHotPath } from '../../client/embedded.js';
import type { MapOptions, TaskFn } from '../../client/session.js';
import { AgentHandshake } from '../../agent/protocol/handshake.js';
import type { SessionKeys } from '../../agent/protocol/handshake.js';
import { Opener, Sealer } from '../../agent/protocol/seal.js';
import { encodeFrame } from '../../agent/protocol/frame.js';
import { identityFromSecret, keyFromText } from '../../agent/protocol/identity.js';
import type { AgentCredentials } from '../../agent/protocol/identity.js';
import { deferred, within } from '../support/async.js';
import type { Deferred } from '../support/async.js';
import type { Reaper } from '../support/reaper.js';

export { deferred, within };
export type { Deferred };

/** A controller under test and the lines it logged. */
export interface TestController {
  controller: Controller;
  logs: string[];
}

/**
 * Starts a real controller on 127.0.0.1:0 with one real local agent (pool `local` unless `pools`
 * says otherwise) and waits for its lane. Embedded: private state folder, random token, removed
 * on close.
 */
export async function startController(cleanup: Reaper, opts: Omit<ControllerOptions, 'embedded' | 'log'> = {}): Promise<TestController> {
  const logs: string[] = [];
  const controller = await Controller.start({
    pools: { local: { launcher: 'local', agents: 1, slots: 1 } },
    ...opts,
    embedded: true,
    log: (line) => void logs.push(line),
  });
  cleanup.add(() => controller.close());
  await controller.waitForLanes(1, { timeoutMs: 15_000 });
  return { controller, logs };
}

/**
 * Runs a real map through `controller` on its real agents. The session calls the controller in
 * process (the same router and scheduler a remote client reaches): what these tests check is
 * that the agent endpoint still dispatches to, and collects from, the genuine agents.
 */
export async function runMap<T, R>(controller: Controller, items: T[], fn: TaskFn<T, R>, opts: MapOptions = {}): Promise<Awaited<R>[]> {
  const session = new Session(localClient(controller), localHotPath(controller), controller, async () => {});
  try {
    return await session.map(items, fn, opts);
  } finally {
    await session.close();
  }
}

/** Proves the controller still serves: a map of squares completes on its genuine agent. */
export async function expectStillServing(controller: Controller): Promise<void> {
  const squares = await within(runMap(controller, [1, 2, 3, 4], (x: number) => x * x), 15_000, 'map on the genuine agent');
  if (JSON.stringify(squares) !== '[1,4,9,16]') throw new Error(`map returned ${JSON.stringify(squares)}`);
}

/**
 * Resolves once `pred` holds for the controller's lanes, re-checked whenever lanes come or go.
 * Any number of such waits may run at once: each subscribes to the scheduler's changes.
 */
export function lanesSatisfy(controller: Controller, pred: (lanes: Lane[]) => boolean, what: string, ms = 10_000): Promise<void> {
  const check = () => pred([...controller.scheduler.lanes]);
  if (check()) return Promise.resolve();
  const done = deferred();
  const off = controller.scheduler.signals.on('changed', () => {
    if (check()) done.resolve();
  });
  return within(done.promise, ms, what).finally(off);
}

/** How a socket closed. */
export interface Closed {
  code: number;
  reason: string;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * A raw WebSocket peer of the agent endpoint: messages queue from the first byte (HELLO comes
 * right after the upgrade), `closed` settles with the code and reason the other side sent.
 */
export class RawPeer {
  private readonly queue: Buffer[] = [];
  private waiter: Deferred<Buffer> | undefined;
  private readonly closedD = deferred<Closed>();
  /** Settles when the socket closes. */
  readonly closed: Promise<Closed> = this.closedD.promise;
  /** Text frames received (the endpoint never sends any). */
  readonly texts: string[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return void this.texts.push(toBuffer(data).toString());
      const b = toBuffer(data);
      if (this.waiter) {
        this.waiter.resolve(b);
        this.waiter = undefined;
      } else this.queue.push(b);
    });
    ws.on('error', () => {}); // the close that follows carries what the test checks
    ws.on('close', (code, reason) => {
      const c = { code, reason: reason.toString() };
      this.closedD.resolve(c);
      this.waiter?.reject(new Error(`socket closed while waiting for a message (${c.code} ${c.reason})`));
      this.waiter = undefined;
    });
  }

  /** Opens a connection; `maxPayload` is raised so the peer itself never refuses what it gets. */
  static async connect(url: string, cleanup: Reaper): Promise<RawPeer> {
    const peer = new RawPeer(new WebSocket(url, { perMessageDeflate: false, maxPayload: 512 * 1024 * 1024 }));
    cleanup.add(() => peer.ws.terminate());
    await Promise.race([once(peer.ws, 'open'), peer.closed.then((c) => Promise.reject(new Error(`closed before opening (${c.code})`)))]);
    return peer;
  }

  /** Wraps a socket a server just accepted (its first message may already be on the way). */
  static wrap(ws: WebSocket, cleanup: Reaper): RawPeer {
    const peer = new RawPeer(ws);
    cleanup.add(() => ws.terminate());
    return peer;
  }

  /** The next binary message. */
  next(): Promise<Buffer> {
    const b = this.queue.shift();
    if (b) return Promise.resolve(b);
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('socket not open'));
    this.waiter = deferred<Buffer>();
    return within(this.waiter.promise, 10_000, 'next message');
  }

  /** Sends one message and resolves once it is written to the socket. */
  send(data: Uint8Array | string, binary = typeof data !== 'string'): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(data, { binary }, (err) => (err ? reject(err) : resolve())));
  }

  /** Waits for the close, bounded. */
  whenClosed(ms = 5_000): Promise<Closed> {
    return within(this.closed, ms, 'close from the controller');
  }
}

/** A raw peer that finished a genuine handshake with credentials the controller issued. */
export interface GenuinePeer {
  peer: RawPeer;
  creds: AgentCredentials;
  /** The AUTH message this peer sent, as it went on the wire. */
  auth: Buffer;
  keys: SessionKeys;
  /** Seals agent -> controller frames, counting like a real agent. */
  sealer: Sealer;
  /** Opens controller -> agent frames. */
  opener: Opener;
}

/** Agent-side handshake state from issued credentials, as the real agent builds it. */
export function agentHandshake(creds: AgentCredentials): AgentHandshake {
  return new AgentHandshake(creds.agentId, identityFromSecret(keyFromText(creds.secretKey, 64, 'agent secret key')), keyFromText(creds.controllerKey, 32, 'controller key'));
}

/** Dials the agent endpoint and does the handshake by hand with issued credentials. */
export async function genuinePeer(controller: Controller, cleanup: Reaper, pool = 'local'): Promise<GenuinePeer> {
  const creds = controller.registry.issue(pool, controller.agentUrl);
  const hs = agentHandshake(creds);
  const peer = await RawPeer.connect(controller.agentUrl, cleanup);
  const auth = hs.onHello(await peer.next());
  await peer.send(auth);
  const keys = hs.onWelcome(await peer.next());
  return { peer, creds, auth, keys, sealer: new Sealer(keys.toController), opener: new Opener(keys.toAgent) };
}

/** The `ready` message a real lane sends first. */
export function readyMessage(pool = 'local'): { t: 'ready'; slots: number; lane: number; pid: number; host: string; node: string; platform: string; pool: string } {
  return { t: 'ready', slots: 1, lane: 0, pid: process.pid, host: 'raw-peer', node: process.version, platform: `${process.platform}-${process.arch}`, pool };
}

/** One sealed frame holding `msg`, as a real agent would send it next. */
export function sealMessage(sealer: Sealer, msg: unknown, bins: Uint8Array[] = []): Buffer {
  return sealer.seal(encodeFrame(msg, bins));
}

/** A copy of `buf` with one bit flipped. */
export function flipBit(buf: Uint8Array, byte: number, bit = 0): Buffer {
  const out = Buffer.from(buf);
  out[byte] = out[byte]! ^ (1 << bit);
  return out;
}

/** A real agent process (dist/agent.mjs) started by the test, credentials on stdin. */
export interface SpawnedAgent {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the agent wrote to stderr so far. */
  stderr(): string;
  /** SIGKILLs it (if still running), waits for the exit and checks the pid is gone. */
  kill(): Promise<void>;
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts the agent bundle as a launcher does: one line of JSON credentials on stdin, kept open. */
export function spawnAgent(creds: AgentCredentials, cleanup: Reaper): SpawnedAgent {
  const child = spawn(process.execPath, [agentBundlePath()], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => void (err += chunk));
  child.stdin!.on('error', () => {});
  child.on('error', () => {});
  child.stdin!.write(JSON.stringify(creds) + '\n');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await within(exited, 5_000, `exit of agent pid ${child.pid}`);
    if (child.pid !== undefined && processExists(child.pid)) throw new Error(`agent pid ${child.pid} is still running`);
  };
  cleanup.add(kill);
  return { child, exited, stderr: () => err, kill };
}

/** A raw TCP connection to the controller's port: what it receives and when it closes. */
export interface RawTcp {
  socket: Socket;
  received(): Buffer;
  closed: Promise<void>;
}

export async function rawTcp(port: number, cleanup: Reaper): Promise<RawTcp> {
  const socket = tcpConnect(port, '127.0.0.1');
  cleanup.add(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => void chunks.push(c));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, received: () => Buffer.concat(chunks), closed };
}

/**
 * Upgrades a raw TCP connection to a WebSocket on `path` by hand, so a test can then write bytes
 * that no WebSocket library would send. Resolves after the 101 response.
 */
export async function rawUpgrade(port: number, path: string, cleanup: Reaper): Promise<RawTcp & { headerBytes: number }> {
  const tcp = await rawTcp(port, cleanup);
  const got = deferred<number>();
  const onData = () => {
    const all = tcp.received();
    const end = all.indexOf('\r\n\r\n');
    if (end >= 0) got.resolve(end + 4);
  };
  tcp.socket.on('data', onData);
  tcp.socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const headerBytes = await within(got.promise, 5_000, 'WebSocket upgrade response');
  tcp.socket.off('data', onData);
  const head = tcp.received().subarray(0, headerBytes).toString();
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head.split('\r\n')[0]}`);
  return { ...tcp, headerBytes };
}

/**
 * Splits a WebSocket byte stream (after the HTTP upgrade) into frames, unmasking client frames:
 * masking is not encryption, so a capture check must look at the unmasked payloads.
 */
export function parseFrames(buf: Buffer): { opcode: number; payload: Buffer; size: number }[] {
  const out: { opcode: number; payload: Buffer; size: number }[] = [];
  let at = 0;
  while (at + 2 <= buf.length) {
    const opcode = buf[at]! & 0x0f;
    const masked = (buf[at + 1]! & 0x80) !== 0;
    let len = buf[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      if (p + 2 > buf.length) break;
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (p + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    const key = masked ? buf.subarray(p, p + 4) : undefined;
    if (masked) p += 4;
    if (p + len > buf.length) break;
    const payload = Buffer.from(buf.subarray(p, p + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i % 4]!;
    out.push({ opcode, payload, size: p + len - at });
    at = p + len;
  }
  return out;
}

/** Agent ids of the lanes connected now. */
export function laneIds(controller: Controller): string[] {
  return [...controller.scheduler.lanes].map((l) => l.agentId).sort();
}

/** Where a tampering relay flips its one bit. */
export interface Flip {
  /** The stream to alter: controller to agent (HELLO, WELCOME) or agent to controller (AUTH). */
  direction: 'toAgent' | 'toController';
  /** Which data frame of that stream after the HTTP upgrade (control frames such as pings are not counted). */
  frame: number;
  /** Byte of that frame's payload (as the receiver reads it, after unmasking) and the bit to flip. */
  byte: number;
  bit?: number;
}

/** A TCP relay between agents and the controller that flips one bit, once, on its first connection. */
export interface TamperingRelay {
  /** ws:// URL of the agent endpoint through the relay. */
  agentUrl: string;
  /** Connections the relay carried so far. */
  connections(): number;
  /** Settles once the bit has been flipped. */
  flipped: Promise<void>;
}

/**
 * Where `flip` lands in a stream seen so far: the absolute offset of the byte to flip once known,
 * and how far the stream can be forwarded untouched before that.
 */
function locateFlip(all: Buffer, flip: Flip): { target?: number; safe: number } {
  const end = all.indexOf('\r\n\r\n');
  if (end < 0) return { safe: 0 };
  let at = end + 4;
  for (let frame = 0; ; ) {
    if (at + 2 > all.length) return { safe: at };
    const opcode = all[at]! & 0x0f;
    const masked = (all[at + 1]! & 0x80) !== 0;
    let len = all[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      if (p + 2 > all.length) return { safe: at };
      len = all.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (p + 8 > all.length) return { safe: at };
      len = Number(all.readBigUInt64BE(p));
      p += 8;
    }
    if (masked) p += 4;
    if (p > all.length) return { safe: at };
    if (opcode < 8) {
      if (frame === flip.frame) return { target: p + flip.byte, safe: p };
      frame++;
    }
    at = p + len;
  }
}

/**
 * Starts a relay on 127.0.0.1 in front of the controller's port, like an SSH tunnel or a relay on
 * a login node that an attacker controls: it flips one bit of the first connection's handshake
 * (a masked client byte flips the same bit of what the controller reads) and carries the rest.
 */
export async function tamperingRelay(controllerPort: number, flip: Flip, cleanup: Reaper): Promise<TamperingRelay> {
  let connections = 0;
  const flipped = deferred();
  const server = createTcpServer((down) => {
    const first = connections++ === 0;
    const up = tcpConnect(controllerPort, '127.0.0.1');
    const pipe = (from: Socket, to: Socket, tamper: boolean) => {
      let all = Buffer.alloc(0);
      let sent = 0;
      let done = !tamper;
      from.on('data', (chunk: Buffer) => {
        if (done) return void to.write(chunk);
        all = Buffer.concat([all, chunk]);
        const { target, safe } = locateFlip(all, flip);
        if (target !== undefined && target < all.length) {
          all[target] = all[target]! ^ (1 << (flip.bit ?? 0));
          to.write(all.subarray(sent));
          done = true;
          flipped.resolve();
        } else if (safe > sent) {
          to.write(all.subarray(sent, safe));
          sent = safe;
        }
      });
      from.on('end', () => to.end());
    };
    for (const s of [up, down]) s.on('error', () => (up.destroy(), down.destroy()));
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
    pipe(down, up, first && flip.direction === 'toController');
    pipe(up, down, first && flip.direction === 'toAgent');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { agentUrl: `ws://127.0.0.1:${port}/agent`, connections: () => connections, flipped: flipped.promise };
}
