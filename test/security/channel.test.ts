/**
 * acceptChannel / dialChannel over real sockets on 127.0.0.1: who gets a channel, and how each
 * refusal reaches the other side (close code and reason).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { acceptChannel, dialChannel, CLOSE } from '../../agent/protocol/channel.js';
import type { SecureChannel } from '../../agent/protocol/channel.js';
import { ControllerHandshake, REFUSED } from '../../agent/protocol/handshake.js';
import { Sealer } from '../../agent/protocol/seal.js';
import { canWriteDirect, directCapable } from '../../agent/protocol/ws-write.js';
import { FlotillaError } from '../../contract/errors.js';
import { generateIdentity } from '../../agent/protocol/generate-identity.js';
import { RawPeer, deferred, flipBit, sealMessage, within } from './helpers.js';
import { Reaper } from '../support/reaper.js';
import type { Closed } from './helpers.js';

const cleanup = Reaper.afterEach();

const AGENT_ID = 'local-channel-test';

/** A bare WebSocket server on port 0; `connection` is its first accepted socket. */
async function listen(): Promise<{ url: string; connection: Promise<WebSocket> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const connection = deferred<WebSocket>();
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    connection.resolve(ws);
  });
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  await once(wss, 'listening');
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, connection: connection.promise };
}

/** The agent's socket, with its close recorded from the start. */
function agentSocket(url: string): { ws: WebSocket; closed: Promise<Closed> } {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', () => {});
  const closed = deferred<Closed>();
  ws.on('close', (code, reason) => closed.resolve({ code, reason: reason.toString() }));
  cleanup.add(() => ws.terminate());
  return { ws, closed: within(closed.promise, 5_000, 'agent socket close') };
}

function channelClosed(ch: SecureChannel): Promise<Closed> {
  const d = deferred<Closed>();
  ch.onclose = (code, reason) => d.resolve({ code, reason });
  return within(d.promise, 5_000, 'channel close');
}

async function caught(p: Promise<unknown>): Promise<FlotillaError> {
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlotillaError);
  return err as FlotillaError;
}

/** A genuine agent and controller, each with its end of an open channel over a real socket. */
async function openPair(): Promise<{ atAgent: SecureChannel; atController: SecureChannel; agentId: string }> {
  const controller = generateIdentity(), agent = generateIdentity();
  const { url, connection } = await listen();
  const accepted = connection.then((ws) => acceptChannel(ws, { identity: controller, lookup: (id) => (id === AGENT_ID ? agent.publicKey : undefined) }));
  const { ws } = agentSocket(url);
  const atAgent = await dialChannel(ws, { agentId: AGENT_ID, identity: agent, controllerKey: controller.publicKey });
  const { channel: atController, agentId } = await accepted;
  return { atAgent, atController, agentId };
}

describe('secure channel over real sockets', () => {
  it('a genuine agent and controller open a channel and exchange sealed messages both ways', async () => {
    const { atAgent, atController, agentId } = await openPair();
    expect(agentId).toBe(AGENT_ID);

    const toController = deferred<[unknown, Buffer[]]>();
    atController.onmessage = (msg, bins) => toController.resolve([msg, bins]);
    atAgent.send({ t: 'ping', n: 1 }, [Buffer.from('bytes up')]);
    const [up, upBins] = await within(toController.promise, 5_000, 'message to controller');
    expect(up).toEqual({ t: 'ping', n: 1 });
    expect(upBins.map((b) => b.toString())).toEqual(['bytes up']);

    const toAgent = deferred<unknown>();
    atAgent.onmessage = (msg) => toAgent.resolve(msg);
    atController.send({ t: 'pong', n: 2 });
    expect(await within(toAgent.promise, 5_000, 'message to agent')).toEqual({ t: 'pong', n: 2 });
  });

  it('sealed frames written straight to the socket arrive whole and in order both ways, at every frame-header size and between ws.send frames', async () => {
    // channel.send frames sealed messages itself (agent/protocol/ws-write.ts): 7-bit, 16-bit and
    // 64-bit payload lengths, the agent's frames masked with a zero key; pings that ws frames
    // itself go between them and must not tear or reorder them.
    const { atAgent, atController } = await openPair();
    // The ws internals the direct path reads are there (ws 8), so this test runs that path, not
    // the fallback through ws.send that a change of ws would silently leave.
    expect(directCapable(atAgent.ws) && directCapable(atController.ws)).toBe(true);
    expect(canWriteDirect(atAgent.ws) && canWriteDirect(atController.ws)).toBe(true);
    const sizes = [0, 1, 90, 125, 126, 1000, 65_535, 65_536, 300_000];
    const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
    for (const [from, to] of [[atAgent, atController], [atController, atAgent]] as const) {
      const got: Array<[unknown, Buffer[]]> = [];
      const all = deferred<void>();
      to.onmessage = (msg, bins) => {
        got.push([msg, bins.map((b) => Buffer.from(b))]);
        if (got.length === sizes.length) all.resolve();
      };
      sizes.forEach((n, i) => {
        from.send({ t: 'blob', i, pad: 'x'.repeat(i % 3 === 0 ? n : 0) }, [bytes(n, i)]);
        from.ws.ping();
      });
      await within(all.promise, 10_000, 'all frames');
      got.forEach(([msg, bins], i) => {
        expect(msg).toEqual({ t: 'blob', i, pad: 'x'.repeat(i % 3 === 0 ? sizes[i]! : 0) });
        expect(bins).toHaveLength(1);
        expect(bins[0]!.equals(bytes(sizes[i]!, i))).toBe(true);
      });
    }
    expect(atAgent.isOpen && atController.isOpen).toBe(true);
  });

  it('a controller refusing an unknown agent closes the agent socket with 4401 and the one refusal reason', async () => {
    const controller = generateIdentity();
    const { url, connection } = await listen();
    const refused = connection.then((ws) => acceptChannel(ws, { identity: controller, lookup: () => undefined }));
    const { ws, closed } = agentSocket(url);
    const dialed = dialChannel(ws, { agentId: AGENT_ID, identity: generateIdentity(), controllerKey: controller.publicKey });
    dialed.catch(() => {});

    const e = await caught(refused);
    expect(e.code).toBe('UNAUTHORIZED');
    const c = await closed;
    expect(c.code).toBe(CLOSE.UNAUTHORIZED);
    expect(c.reason).toBe(REFUSED.slice(0, 123));
    await caught(dialed);
  });

  it('dialChannel reports a signed refusal as UNAUTHORIZED with context.refused, so the agent stops retrying', async () => {
    // agent/dial.ts gives up only on a refusal the controller signed; anything else means "retry".
    const controller = generateIdentity();
    const { url, connection } = await listen();
    void connection.then((ws) => acceptChannel(ws, { identity: controller, lookup: () => undefined }).catch(() => {}));
    const { ws } = agentSocket(url);
    const e = await caught(dialChannel(ws, { agentId: AGENT_ID, identity: generateIdentity(), controllerKey: controller.publicKey }));
    expect(e.message).toContain(REFUSED);
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.context.refused).toBe(true);
  });

  it('a bare 4401 close during the handshake (anyone on the path can send one) is not final', async () => {
    const { url, connection } = await listen();
    void connection.then((ws) => ws.close(CLOSE.UNAUTHORIZED, 'go away'));
    const { ws } = agentSocket(url);
    const e = await caught(dialChannel(ws, { agentId: AGENT_ID, identity: generateIdentity(), controllerKey: generateIdentity().publicKey }));
    expect(e.code).toBe('CHANNEL');
    expect(e.context.refused).toBeUndefined();
  });

  it('an agent holding the wrong controller key refuses the channel: UNAUTHORIZED, closed with 4401', async () => {
    const controller = generateIdentity(), agent = generateIdentity();
    const { url, connection } = await listen();
    // This controller knows the agent, but is not the controller the agent was told to trust.
    // acceptChannel resolves once WELCOME is sent; the agent's verdict comes as the close.
    const closedAtController = connection.then((ws) => acceptChannel(ws, { identity: controller, lookup: () => agent.publicKey })).then(({ channel }) => channelClosed(channel));
    const { ws } = agentSocket(url);
    const e = await caught(dialChannel(ws, { agentId: AGENT_ID, identity: agent, controllerKey: generateIdentity().publicKey }));
    expect(e.code).toBe('UNAUTHORIZED');
    const c = await closedAtController;
    expect(c.code).toBe(CLOSE.UNAUTHORIZED);
    expect(c.reason).toMatch(/controller failed to prove its identity/);
  });

  it('a peer that stalls the handshake is closed with 4408 on either side', async () => {
    const controller = generateIdentity();
    // An agent that never answers HELLO.
    const a = await listen();
    const stalled = a.connection.then((ws) => acceptChannel(ws, { identity: controller, lookup: () => undefined, timeoutMs: 200 }));
    const silentAgent = await RawPeer.connect(a.url, cleanup);
    expect((await caught(stalled)).message).toMatch(/timed out/);
    const c1 = await silentAgent.whenClosed();
    expect(c1).toEqual({ code: CLOSE.HANDSHAKE_TIMEOUT, reason: 'handshake timed out' });

    // A controller that never sends HELLO.
    const b = await listen();
    const { ws } = agentSocket(b.url);
    const dialed = dialChannel(ws, { agentId: AGENT_ID, identity: generateIdentity(), controllerKey: controller.publicKey, timeoutMs: 200 });
    const silentController = RawPeer.wrap(await b.connection, cleanup);
    expect((await caught(dialed)).message).toMatch(/timed out/);
    expect((await silentController.whenClosed()).code).toBe(CLOSE.HANDSHAKE_TIMEOUT);
  });

  it('a text frame during the handshake is refused with 4400', async () => {
    const controller = generateIdentity();
    const { url, connection } = await listen();
    const refused = connection.then((ws) => acceptChannel(ws, { identity: controller, lookup: () => undefined }));
    const peer = await RawPeer.connect(url, cleanup);
    await peer.next(); // HELLO
    await peer.send('{"t":"ready"}');
    expect((await caught(refused)).code).toBe('CHANNEL');
    expect(await peer.whenClosed()).toEqual({ code: CLOSE.BAD_FRAME, reason: 'text frame during handshake' });
  });

  it('the agent side closes with 4400 on a flipped, replayed or reordered frame from the controller side', async () => {
    const controller = generateIdentity(), agent = generateIdentity();
    type Attack = (s: Sealer) => Buffer[];
    const attacks: Record<string, [Attack, RegExp]> = {
      flipped: [(s) => [flipBit(sealMessage(s, { t: 'run', n: 0 }), 3)], /frame 0 failed authentication/],
      replayed: [
        (s) => {
          const f = sealMessage(s, { t: 'run', n: 0 });
          return [f, f];
        },
        /frame 1 failed authentication/,
      ],
      reordered: [
        (s) => {
          const [a, b, c] = [0, 1, 2].map((n) => sealMessage(s, { t: 'run', n }));
          return [a!, c!, b!];
        },
        /frame 1 failed authentication/,
      ],
    };
    for (const [name, [attack, reason]] of Object.entries(attacks)) {
      const { url, connection } = await listen();
      const { ws } = agentSocket(url);
      const dialed = dialChannel(ws, { agentId: AGENT_ID, identity: agent, controllerKey: controller.publicKey });
      // The controller side by hand, so the test holds the sealer.
      const peer = RawPeer.wrap(await connection, cleanup);
      const hs = new ControllerHandshake(controller);
      await peer.send(hs.hello);
      const { keys, welcome } = hs.onAuth(await peer.next(), (id) => (id === AGENT_ID ? agent.publicKey : undefined));
      await peer.send(welcome);
      const channel = await dialed;
      const delivered: unknown[] = [];
      channel.onmessage = (msg) => void delivered.push(msg);
      for (const frame of attack(new Sealer(keys.toAgent))) await peer.send(frame);
      const c = await peer.whenClosed();
      expect(c.code, name).toBe(CLOSE.BAD_FRAME);
      expect(c.reason, name).toMatch(reason);
      // Only frames before the bad one were delivered, in order.
      expect(delivered, name).toEqual(name === 'flipped' ? [] : [{ t: 'run', n: 0 }]);
    }
  });
});
