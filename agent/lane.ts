/**
 * A lane: one worker thread with its own secure channel to the controller and one task slot.
 * Tasks run on the thread that owns the socket, so a task costs no thread hop; the supervisor on
 * the main thread stays free to replace a lane whose task is stuck in synchronous code.
 */
import { hostname } from 'node:os';
import { parentPort, threadId } from 'node:worker_threads';
import { CLOSE } from './protocol/channel.js';
import type { SecureChannel } from './protocol/channel.js';
import type { ToAgent, ToController } from '../contract/messages.js';
import { Runner } from './runner.js';
import { laneCount, laneRow, S } from './lane-state.js';
import { cpuClock } from './task-usage.js';

/** The agent process's CPU time (all its threads), for the controller's gauge of it. */
const cpuTotalUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
import type { LaneData, LaneEvent } from './lane-state.js';
import { parseCredentials } from './credentials.js';
import { dialLoop } from './dial.js';
import { listCached } from './artifacts.js';
import { cleanStack } from './stack.js';

/**
 * How often a lane reports its load and memory. Liveness is the controller's pings, not this:
 * it only refreshes what `agents.list` shows, and with 10,000 agents on one controller each
 * report costs the controller a read, an open and a decode.
 */
const HEARTBEAT_MS = 15_000;

function post(e: LaneEvent): void {
  parentPort?.postMessage(e);
}

/** Runs a lane until the controller says to stop or the supervisor ends the thread. */
export async function runLane(data: LaneData): Promise<void> {
  // Module artifacts carry inline source maps: a task's stack names the user's files and lines.
  process.setSourceMapsEnabled(true);
  // An error that escapes a task (a throw in a timer, a rejection nobody handles) ends this
  // thread; first tell the supervisor what it was, with frames of shipped code mapped here,
  // where their layout is known.
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    const error = err instanceof Error ? (cleanStack(err.stack) ?? `${err.name}: ${err.message}`) : `a non-Error value: ${String(err)}`;
    post({ t: 'dying', origin: origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception', error });
  });
  const creds = parseCredentials(data.credentials);
  const status = laneRow(data.status, data.lane);
  const where = { agentId: creds.agentId, host: hostname(), pid: process.pid, lane: data.lane };
  let channel: SecureChannel | undefined;
  const send = (msg: ToController, bins?: Uint8Array[]) => {
    channel?.send(msg, bins);
    // Results out: the controller answers with more work, whose frame's cipher can be made meanwhile.
    if (msg.t === 'res') channel?.prepare();
  };
  const runner = new Runner(send, status, where, (reason) => post({ t: 'recycle', reason }), cpuClock(laneCount(data.status)));

  const end = await dialLoop(creds, async (ch, closed) => {
    let stop = false;
    channel = ch;
    status[S.CONNECTED] = 1;
    ch.onmessage = (msg: ToAgent, bins) => {
      if (msg.t === 'shutdown') {
        stop = true;
        post({ t: 'exit', reason: msg.reason });
        ch.close(CLOSE.NORMAL, 'shutting down');
        return;
      }
      runner.handle(msg, bins);
    };
    const hb = setInterval(() => ch.send({ t: 'hb', ...runner.load, rssBytes: process.memoryUsage.rss(), cpuUs: cpuTotalUs() }), HEARTBEAT_MS);
    ch.send({ t: 'ready', slots: 1, lane: data.lane, thread: threadId, pid: process.pid, host: where.host, node: process.version, platform: `${process.platform}-${process.arch}`, pool: creds.pool, arts: listCached() });
    // Told once `ready` is on its way: the supervisor wakes and dials its control connection,
    // work that would otherwise compete for the CPU with this lane's last step to its first task.
    post({ t: 'connected' });
    const { code, reason } = await closed;
    clearInterval(hb);
    runner.reset();
    status[S.CONNECTED] = 0;
    channel = undefined;
    post({ t: 'disconnected', code, reason });
    return stop;
  });
  if ('refused' in end) post({ t: 'fatal', reason: end.refused });
}
