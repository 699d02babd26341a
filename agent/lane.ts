/**
 * A lane: one worker thread with its own secure channel to the controller and one task slot.
 * Tasks run on the thread that owns the socket, so a task costs no thread hop; the supervisor on
 * the main thread stays free to replace a lane whose task is stuck in synchronous code.
 */
import { hostname } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { CLOSE, dialChannel } from './protocol/channel.js';
import type { SecureChannel } from './protocol/channel.js';
import { identityFromSecret, keyFromText } from './protocol/identity.js';
import type { ToAgent } from './protocol/messages.js';
import { Runner } from './runner.js';
import { laneRow, S } from './lane-state.js';
import type { LaneData, LaneEvent } from './lane-state.js';
import { parseCredentials } from './credentials.js';

/** Largest frame a lane accepts: a batch of tasks or a big argument. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
const HEARTBEAT_MS = 5_000;
/** Without a ping or a message from the controller for this long, the connection is presumed dead. */
const SILENCE_MS = 3 * HEARTBEAT_MS + 1_000;

function post(e: LaneEvent): void {
  parentPort?.postMessage(e);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs a lane until the controller says to stop or the supervisor ends the thread. */
export async function runLane(data: LaneData): Promise<void> {
  const creds = parseCredentials(data.credentials);
  const identity = identityFromSecret(keyFromText(creds.secretKey, 64, 'agent secret key'));
  const controllerKey = keyFromText(creds.controllerKey, 32, 'controller key');
  const status = laneRow(data.status, data.lane);
  const where = { agentId: creds.agentId, host: hostname(), pid: process.pid, lane: data.lane };
  let channel: SecureChannel | undefined;
  const runner = new Runner((msg, bins) => channel?.send(msg, bins), status, where, (reason) => post({ t: 'recycle', reason }));
  let backoff = 100;
  let stop = false;

  while (!stop) {
    const ws = new WebSocket(creds.url, { perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000 });
    ws.on('error', () => {}); // the close that follows is what we act on
    try {
      channel = await dialChannel(ws, { agentId: creds.agentId, identity, controllerKey });
    } catch (err) {
      const e = err as Error & { code?: string };
      if (e.code === 'UNAUTHORIZED') {
        post({ t: 'fatal', reason: e.message });
        return;
      }
      // Full jitter keeps a fleet of agents from reconnecting in lockstep.
      await sleep(Math.random() * backoff);
      backoff = Math.min(backoff * 2, 5_000);
      continue;
    }
    backoff = 100;
    status[S.CONNECTED] = 1;
    post({ t: 'connected' });
    const ch = channel;
    let lastHeard = Date.now();
    ws.on('ping', () => (lastHeard = Date.now()));
    ch.onmessage = (msg: ToAgent, bins) => {
      lastHeard = Date.now();
      if (msg.t === 'shutdown') {
        stop = true;
        post({ t: 'exit', reason: msg.reason });
        ch.close(CLOSE.NORMAL, 'shutting down');
        return;
      }
      runner.handle(msg, bins);
    };
    const hb = setInterval(() => {
      if (Date.now() - lastHeard > SILENCE_MS) {
        ws.terminate();
        return;
      }
      ch.send({ t: 'hb', ...runner.load, rssBytes: process.memoryUsage.rss() });
    }, HEARTBEAT_MS);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (ch.onclose = (code, reason) => resolve({ code, reason })));
    ch.send({ t: 'ready', slots: 1, lane: data.lane, pid: process.pid, host: where.host, node: process.version, platform: `${process.platform}-${process.arch}`, pool: creds.pool });
    const { code, reason } = await closed;
    clearInterval(hb);
    runner.reset();
    status[S.CONNECTED] = 0;
    channel = undefined;
    post({ t: 'disconnected', code, reason });
    if (code === CLOSE.UNAUTHORIZED) {
      post({ t: 'fatal', reason: `controller refused this agent: ${reason}` });
      return;
    }
    if (!stop) await sleep(Math.random() * backoff);
  }
}
