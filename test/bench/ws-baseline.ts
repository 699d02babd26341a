/**
 * The physical limit on this machine: a raw `ws` echo between this process and a plain `node`
 * child (the same pair of processes as controller and agent, minus handshake, sealing, tRPC and
 * scheduling). Round-trip latency, pipelined messages/s, and spawn-to-connected time.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { median, nowUs, percentile, within } from './stats.js';

const CHILD = fileURLToPath(new URL('./ws-echo-child.mjs', import.meta.url));

export interface WsBaselineOptions {
  /** Sequential round trips measured (after `warmup` more). @default 1000 */
  roundTrips?: number;
  warmup?: number;
  /** Besides `warmup`, round trips repeated for this long first (as the flotilla figures beside it are). @default 0 */
  warmMs?: number;
  /** Messages sent in the pipelined run, and how many may be in flight. @default 100_000, 256 */
  pipelined?: number;
  window?: number;
  /** Payload of each message, bytes. @default 64 (about one tiny task frame) */
  bytes?: number;
  /** Spawn-to-connected repetitions, each starting `children` processes at once. @default 5, 2 */
  spawnReps?: number;
  children?: number;
}

export interface WsBaselineResult {
  rttMedianUs: number;
  /** With `warmMs`: the median of the first round trips after `warmup`, before the warm-up by time. */
  rttColdMedianUs?: number;
  rttP99Us: number;
  pipelinedMsgPerS: number;
  pipelined: { messages: number; window: number; bytes: number; seconds: number };
  /** Median time from spawn() until all `children` children have connected, ms. */
  spawnToConnectedMs: number;
  spawnToConnectedSamplesMs: number[];
  children: number;
}

interface Echo {
  child: ChildProcess;
  ws: WebSocket;
}

/** Spawns `n` echo children at once; resolves when all are connected. */
async function spawnEchoes(wss: WebSocketServer, url: string, n: number): Promise<Echo[]> {
  const children: ChildProcess[] = [];
  const connected = new Promise<WebSocket[]>((resolve, reject) => {
    const socks: WebSocket[] = [];
    const onConn = (ws: WebSocket) => {
      ws.on('error', () => {});
      socks.push(ws);
      if (socks.length === n) {
        wss.off('connection', onConn);
        resolve(socks);
      }
    };
    wss.on('connection', onConn);
    for (let i = 0; i < n; i++) {
      const child = spawn(process.execPath, [CHILD, url], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) => code && reject(new Error(`echo child exited with ${code}`)));
      children.push(child);
    }
  });
  const socks = await within(connected, 10_000, 'echo children connecting');
  // Connection order need not match spawn order; pairing does not matter for an echo.
  return socks.map((ws, i) => ({ ws, child: children[i]! }));
}

async function stopEchoes(echoes: Echo[]): Promise<void> {
  await Promise.all(
    echoes.map(({ ws, child }) => {
      const exited = child.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
      ws.close();
      setTimeout(() => child.kill('SIGKILL'), 1000).unref();
      return exited;
    }),
  );
}

/** Sequential round trips: send, wait for the echo, repeat. Returns microseconds per trip. */
function roundTrips(ws: WebSocket, n: number, bytes: number): Promise<number[]> {
  const payload = Buffer.alloc(bytes, 7);
  const out: number[] = [];
  return new Promise((resolve) => {
    let t = 0;
    const next = () => {
      if (out.length === n) {
        ws.off('message', onMsg);
        return resolve(out);
      }
      t = nowUs();
      ws.send(payload);
    };
    const onMsg = () => {
      out.push(nowUs() - t);
      next();
    };
    ws.on('message', onMsg);
    next();
  });
}

/** Sends `n` messages keeping up to `window` in flight; returns seconds until the last echo. */
function pipelined(ws: WebSocket, n: number, window: number, bytes: number): Promise<number> {
  const payload = Buffer.alloc(bytes, 7);
  return new Promise((resolve) => {
    let sent = 0, got = 0;
    const t0 = nowUs();
    const fill = () => {
      while (sent < n && sent - got < window) {
        ws.send(payload);
        sent++;
      }
    };
    const onMsg = () => {
      got++;
      if (got === n) {
        ws.off('message', onMsg);
        return resolve((nowUs() - t0) / 1e6);
      }
      // Top up in halves so each refill is one burst of writes, as a batching sender would.
      if (sent - got <= window / 2) fill();
    };
    ws.on('message', onMsg);
    fill();
  });
}

/**
 * A source of single spawn-to-connected samples (one echo child each), for a phase that pairs
 * each of its own samples with one taken right before it: on a shared machine the load drifts
 * between phases. `close` ends its server.
 */
export async function echoSpawnTimer(): Promise<{ sample(): Promise<number>; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('error', () => {});
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const url = `ws://127.0.0.1:${(wss.address() as import('node:net').AddressInfo).port}`;
  return {
    async sample() {
      const t0 = nowUs();
      const echoes = await spawnEchoes(wss, url, 1);
      const ms = (nowUs() - t0) / 1e3;
      await stopEchoes(echoes);
      return ms;
    },
    close: () => new Promise<void>((r) => wss.close(() => r())),
  };
}

/**
 * One echo child kept connected, for a phase that times its own round trips in blocks that
 * alternate with blocks of the echo's (`roundTrips(n)`: µs each): on a shared machine the echo's
 * round trip moves by 3x within minutes (waking an idle core costs more than a busy one), so a
 * ratio to a baseline taken minutes earlier says as much about the machine as about flotilla.
 */
export async function echoPartner(bytes = 64): Promise<{ roundTrips(n: number): Promise<number[]>; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('error', () => {});
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const url = `ws://127.0.0.1:${(wss.address() as import('node:net').AddressInfo).port}`;
  const echoes = await spawnEchoes(wss, url, 1);
  return {
    roundTrips: (n) => roundTrips(echoes[0]!.ws, n, bytes),
    async close() {
      await stopEchoes(echoes);
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

export async function runWsBaseline(opts: WsBaselineOptions = {}): Promise<WsBaselineResult> {
  const { roundTrips: nTrips = 1000, warmup = 200, warmMs = 0, pipelined: nPipe = 100_000, window = 256, bytes = 64, spawnReps = 5, children = 2 } = opts;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('error', () => {});
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const url = `ws://127.0.0.1:${(wss.address() as import('node:net').AddressInfo).port}`;
  try {
    const spawnSamples: number[] = [];
    for (let i = 0; i < spawnReps; i++) {
      const t0 = nowUs();
      const echoes = await spawnEchoes(wss, url, children);
      spawnSamples.push((nowUs() - t0) / 1e3);
      await stopEchoes(echoes);
    }
    const echoes = await spawnEchoes(wss, url, 1);
    try {
      const ws = echoes[0]!.ws;
      await roundTrips(ws, warmup, bytes);
      const cold = warmMs > 0 ? await within(roundTrips(ws, nTrips, bytes), 60_000, 'ws round trips') : undefined;
      const warmEnd = performance.now() + warmMs;
      while (performance.now() < warmEnd) await roundTrips(ws, 200, bytes);
      const rtt = await within(roundTrips(ws, nTrips, bytes), 60_000, 'ws round trips');
      await pipelined(ws, Math.min(nPipe, 10_000), window, bytes); // warm-up
      const seconds = await within(pipelined(ws, nPipe, window, bytes), 120_000, 'ws pipelined run');
      return {
        rttMedianUs: median(rtt),
        rttColdMedianUs: cold && median(cold),
        rttP99Us: percentile(rtt, 99),
        pipelinedMsgPerS: nPipe / seconds,
        pipelined: { messages: nPipe, window, bytes, seconds },
        spawnToConnectedMs: median(spawnSamples),
        spawnToConnectedSamplesMs: spawnSamples,
        children,
      };
    } finally {
      await stopEchoes(echoes);
    }
  } finally {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
}
