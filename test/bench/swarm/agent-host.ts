/**
 * One process of the agent swarm: holds thousands of agent connections to one controller, each
 * running the real handshake and sealed frames (the agent's own protocol code), says `ready` as
 * one slot, sends heartbeats like a lane, and answers every task at once with its argument (a
 * tiny identity task). Driven by its parent over IPC:
 *   parent -> { t: 'connect', url, creds: AgentCredentials[], concurrency, localAddress }
 *   child  -> { t: 'connected', n, ms, failed } once all have joined, { t: 'stats', tasks, runFrames, open, rssMiB } on request.
 */
import { WebSocket } from 'ws';
import { dialChannel } from '../../../agent/protocol/channel.js';
import type { SecureChannel } from '../../../agent/protocol/channel.js';
import { identityFromSecret, keyFromText } from '../../../agent/protocol/identity.js';
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { ToAgent, ToController, WireResult } from '../../../contract/messages.js';

/** As a lane does (agent/lane.ts). */
const HEARTBEAT_MS = 15_000;

const channels: SecureChannel[] = [];
let tasks = 0;
/** `run` frames received: with `tasks`, how many tasks a frame carries. */
let runFrames = 0;
const send = (m: unknown) => process.send!(m);

function serve(ch: SecureChannel): void {
  ch.onmessage = (msg: ToAgent, bins) => {
    if (msg.t !== 'run') return; // function definitions and the rest need nothing from a tiny task
    const r: WireResult[] = msg.tasks.map((t) => [t[0], 1, t[2], 1, -1, -1]);
    tasks += r.length;
    runFrames++;
    ch.send({ t: 'res', r } satisfies ToController, bins);
  };
  // Spread over the period, as independent agents' timers would be.
  setTimeout(() => {
    const hb = setInterval(() => ch.send({ t: 'hb', running: 0, queued: 0, rssBytes: 40 << 20 } satisfies ToController), HEARTBEAT_MS);
    ch.onclose = () => clearInterval(hb);
  }, Math.random() * HEARTBEAT_MS);
}

async function dial(url: string, c: AgentCredentials, localAddress: string | undefined, lane: number): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 30_000, localAddress });
  ws.on('error', () => {});
  const ch = await dialChannel(ws, { agentId: c.agentId, identity: identityFromSecret(keyFromText(c.secretKey, 64, 'secret key')), controllerKey: keyFromText(c.controllerKey, 32, 'controller key'), timeoutMs: 30_000 });
  serve(ch);
  ch.send({ t: 'ready', slots: 1, lane, pid: process.pid, host: 'swarm', node: process.version, platform: `${process.platform}-${process.arch}`, pool: c.pool } satisfies ToController);
  channels.push(ch);
}

process.on('message', async (m: { t: string; url?: string; creds?: AgentCredentials[]; concurrency?: number; localAddress?: string }) => {
  if (m.t === 'stats') return send({ t: 'stats', tasks, runFrames, open: channels.filter((c) => c.isOpen).length, rssMiB: process.memoryUsage.rss() / 2 ** 20 });
  if (m.t === 'close') {
    for (const c of channels) c.close(1000, 'swarm done');
    setTimeout(() => process.exit(0), 500).unref();
    return;
  }
  if (m.t !== 'connect') return;
  const t0 = performance.now();
  const creds = m.creds!;
  let next = 0, failed = 0;
  const worker = async () => {
    while (next < creds.length) {
      const i = next++;
      try {
        await dial(m.url!, creds[i]!, m.localAddress, 0);
      } catch (err) {
        if (failed++ === 0) process.stderr.write(`swarm: a dial failed: ${(err as Error).message}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: m.concurrency ?? 16 }, worker));
  send({ t: 'connected', n: channels.length, failed, ms: performance.now() - t0 });
});
process.on('disconnect', () => process.exit(0));
