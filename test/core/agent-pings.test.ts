/**
 * The controller's pings: every agent connection is pinged each round, except one that sent a
 * frame since the last round (that frame answers for it like a pong), and never two rounds in a
 * row, since an agent takes a controller that stops pinging for gone. With 10,000 agents each
 * ping costs the controller a write and its pong a read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Controller } from '../../server/controller.js';
import { dialChannel } from '../../agent/protocol/channel.js';
import { identityFromSecret, keyFromText } from '../../agent/protocol/identity.js';
import type { ToController } from '../../contract/messages.js';
import { deferred, within } from '../support/async.js';

const ROUND_MS = 100;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A raw agent connection (the agent's own protocol code) that counts the pings it gets. */
async function rawAgent(controller: Controller) {
  const c = controller.registry.issue('quiet', controller.agentUrl, { slots: 1 });
  const ws = new WebSocket(c.url, { perMessageDeflate: false });
  ws.on('error', () => {});
  cleanup.push(() => ws.terminate());
  const pings: number[] = [];
  let waiter: { n: number; done(): void } | undefined;
  ws.on('ping', () => {
    pings.push(performance.now());
    if (waiter && pings.length >= waiter.n) waiter.done();
  });
  /** Resolves once `n` pings in all have come. */
  const pinged = (n: number) => {
    const d = deferred();
    waiter = { n, done: () => d.resolve() };
    if (pings.length >= n) d.resolve();
    return d.promise;
  };
  const ch = await dialChannel(ws, { agentId: c.agentId, identity: identityFromSecret(keyFromText(c.secretKey, 64, 'secret key')), controllerKey: keyFromText(c.controllerKey, 32, 'controller key') });
  const closed = deferred<number>();
  ch.onclose = (code) => closed.resolve(code);
  ch.send({ t: 'ready', slots: 1, lane: 0, pid: process.pid, host: 'test', node: process.version, platform: `${process.platform}-${process.arch}`, pool: c.pool } satisfies ToController);
  return { ch, pings, pinged, closed: closed.promise };
}

describe('agent pings', () => {
  it('skips every other ping to a connection that keeps talking, and pings a silent one every round', async () => {
    const state = mkdtempSync(join(tmpdir(), 'flotilla-pings-'));
    cleanup.push(() => rmSync(state, { recursive: true, force: true }));
    const controller = await Controller.start({ stateDir: state, heartbeatMs: ROUND_MS, pools: { quiet: { launcher: 'local', min: 0, max: 1 } }, log: () => {} });
    cleanup.push(() => controller.close());
    const talker = await rawAgent(controller);
    const silent = await rawAgent(controller);
    // Sends a heartbeat several times a round.
    const hb = setInterval(() => talker.ch.send({ t: 'hb', running: 0, queued: 0, rssBytes: 1 << 20 } satisfies ToController), ROUND_MS / 4);
    cleanup.push(() => clearInterval(hb));
    const rounds = 16;
    const t0 = silent.pings.length;
    const t1 = talker.pings.length;
    await within(
      silent.pinged(t0 + rounds),
      60_000,
      () => `the silent connection got ${silent.pings.length - t0} of ${rounds} pings`,
    );
    const talkerPings = talker.pings.length - t1;
    // Half the rounds, give or take a round the timers of a loaded machine may shift.
    expect(talkerPings).toBeGreaterThanOrEqual(rounds / 2 - 2);
    expect(talkerPings).toBeLessThanOrEqual(rounds / 2 + 2);
    // Both are still connected: a skipped round counts as answered, never as missed.
    expect(talker.ch.isOpen && silent.ch.isOpen).toBe(true);
  });
});
