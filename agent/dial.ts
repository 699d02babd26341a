/**
 * Dialling the controller, for a lane or the supervisor's control connection alike: connect,
 * handshake, run a session on the open channel, and when it closes dial again with capped
 * exponential backoff and full jitter. Only a refusal signed by the controller (an unknown or
 * revoked key) is final: a handshake that failed any other way may have been tampered with on the
 * way (a relay or tunnel flipping a bit), and the next dial can go through.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { dialChannel, PING_SILENCE_MS } from './protocol/channel.js';
import type { SecureChannel } from './protocol/channel.js';
import { identityFromSecret, keyFromText } from './protocol/identity.js';
import type { AgentCredentials } from './protocol/identity.js';

/** Largest frame an agent accepts: a batch of tasks or a big argument. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/** The controller pings every few seconds; this long without one, the connection is presumed dead. */
const SILENCE_MS = PING_SILENCE_MS;
/**
 * A tampered handshake fails once; a controller that cannot prove the identity this agent was
 * given fails every time. This many failures in a row, with nothing else going wrong, is final.
 */
const IDENTITY_FAILURES_FINAL = 5;


/** How a dial loop ended. */
export type DialEnd = { stopped: true } | { refused: string };

/**
 * Dials until `session` says stop or the controller refuses this agent. `session` runs while the
 * channel is open and resolves with whether to stop once it has closed.
 */
export async function dialLoop(creds: AgentCredentials, session: (ch: SecureChannel, closed: Promise<{ code: number; reason: string }>) => Promise<boolean>): Promise<DialEnd> {
  const identity = identityFromSecret(keyFromText(creds.secretKey, 64, 'agent secret key'));
  const controllerKey = keyFromText(creds.controllerKey, 32, 'controller key');
  let backoff = 100;
  let identityFailures = 0;
  for (;;) {
    const ws = new WebSocket(creds.url, { perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000 });
    ws.on('error', () => {}); // the close that follows is what we act on
    let ch: SecureChannel;
    try {
      ch = await dialChannel(ws, { agentId: creds.agentId, identity, controllerKey });
    } catch (err) {
      const e = err as Error & { code?: string; context?: { refused?: unknown } };
      if (e.code === 'UNAUTHORIZED' && e.context?.refused === true) return { refused: e.message };
      identityFailures = e.code === 'UNAUTHORIZED' ? identityFailures + 1 : 0;
      if (identityFailures >= IDENTITY_FAILURES_FINAL) {
        return { refused: `${e.message}, ${identityFailures} times in a row: check the controllerKey in this agent's credentials` };
      }
      await sleep(Math.random() * backoff); // full jitter: a fleet does not reconnect in lockstep
      backoff = Math.min(backoff * 2, 5_000);
      continue;
    }
    backoff = 100;
    identityFailures = 0;
    let lastPing = Date.now();
    ws.on('ping', () => (lastPing = Date.now()));
    const watch = setInterval(() => Date.now() - lastPing > SILENCE_MS && ws.terminate(), 1_000);
    watch.unref();
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (ch.onclose = (code, reason) => resolve({ code, reason })));
    const stop = await session(ch, closed);
    clearInterval(watch);
    await closed; // a close code is not signed: it can end this connection, never the agent
    if (stop) return { stopped: true };
    await sleep(Math.random() * backoff);
  }
}
