/**
 * The agent's control connection, dialled by the supervisor thread. Task code never runs on this
 * thread, so this connection answers the controller's pings even while every lane is busy in
 * synchronous code: it is how the controller tells a busy agent from a frozen or cut-off one.
 * It also carries the controller's requests to replace a lane or to exit.
 */
import { hostname } from 'node:os';
import type { AgentCredentials } from './protocol/identity.js';
import type { ToAgent, ToController } from '../contract/messages.js';
import { dialLoop } from './dial.js';

export interface ControlHandlers {
  /** Replace lane `lane`, if its thread is still `thread` (when given). */
  recycle(lane: number, thread: number | undefined, reason: string): void;
  exit(reason: string, code: number): void;
  /** The connection is up (with its sender) or down (undefined). */
  connected(send: ((msg: ToController) => void) | undefined): void;
}

/** Keeps the control connection up until the controller says to exit or refuses this agent. */
export async function runControl(creds: AgentCredentials, slots: number, on: ControlHandlers): Promise<void> {
  const end = await dialLoop(creds, async (ch, closed) => {
    let stop = false;
    ch.onmessage = (msg: ToAgent) => {
      if (msg.t === 'recycle') on.recycle(msg.lane, msg.thread, `controller asked: ${msg.reason}`);
      else if (msg.t === 'shutdown') {
        stop = true;
        on.exit(`controller asked to exit: ${msg.reason}`, 0);
      }
    };
    ch.send({ t: 'ctl', pid: process.pid, host: hostname(), slots });
    on.connected((msg) => ch.send(msg));
    await closed;
    on.connected(undefined);
    return stop;
  });
  if ('refused' in end) on.exit(end.refused, 2);
}
