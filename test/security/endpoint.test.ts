/**
 * The controller's agent endpoint against hostile peers, on a real controller with a real local
 * agent: unissued keys, replayed handshakes, tampered/replayed/reordered frames, garbage and
 * oversized frames. Each refusal must close only the offending socket, with a code and a reason,
 * while the genuine agent keeps its lane and a real map still completes.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { until } from '../support/async.js';
import { CLOSE } from '../../agent/protocol/channel.js';
import { generateIdentity } from '../../agent/protocol/generate-identity.js';
import { keyFromText, keyToText } from '../../agent/protocol/identity.js';
import type { Controller } from '../../server/controller.js';
import {
  RawPeer,
  agentHandshake,
  expectStillServing,
  flipBit,
  genuinePeer,
  laneIds,
  lanesSatisfy,
  rawTcp,
  rawUpgrade,
  readyMessage,
  sealMessage,
  parseFrames,
  spawnAgent,
  startController,
  within,
} from './helpers.js';
import { Reaper } from '../support/reaper.js';
import { AgentHandshake, REFUSED } from '../../agent/protocol/handshake.js';
import { Sealer } from '../../agent/protocol/seal.js';
import type { Closed } from './helpers.js';

const cleanup = Reaper.afterEach();

/** The genuine lanes before an attack are the lanes after it: nobody else was disconnected. */
async function expectUndisturbed(controller: Controller, before: string[]): Promise<void> {
  expect(laneIds(controller)).toEqual(before);
  await expectStillServing(controller);
}

/** Waits until no lane belongs to `agentId` (its socket was closed). */
function laneGone(controller: Controller, agentId: string): Promise<void> {
  return lanesSatisfy(controller, (lanes) => !lanes.some((l) => l.agentId === agentId), `lane ${agentId} removed`);
}

/** Answers HELLO on a new raw connection with `auth` and returns how the socket closed. */
async function sendAuth(controller: Controller, auth: (hello: Buffer) => Buffer): Promise<Closed> {
  const peer = await RawPeer.connect(controller.agentUrl, cleanup);
  await peer.send(auth(await peer.next()));
  return peer.whenClosed();
}

describe('agent endpoint: keys the controller did not issue', () => {
  it('an agent with a made-up id and its own key is refused with 4401 and a reason; others keep being served', async () => {
    const { controller, logs } = await startController(cleanup);
    const before = laneIds(controller);
    const controllerKey = keyFromText(controller.registry.issue('local', controller.agentUrl).controllerKey, 32, 'controller key');
    const stranger = new AgentHandshake('local-000000000000', generateIdentity(), controllerKey);

    const closed = await sendAuth(controller, (hello) => stranger.onHello(hello));
    expect(closed.code).toBe(CLOSE.UNAUTHORIZED);
    expect(closed.reason).toBe(REFUSED.slice(0, 123));
    expect(logs.some((l) => l.includes('refused') && l.includes('unknown or revoked agent id'))).toBe(true);
    await expectUndisturbed(controller, before);
  });

  it('an agent presenting an issued id with a different key is refused with 4401 and a reason; others keep being served', async () => {
    const { controller } = await startController(cleanup);
    const before = laneIds(controller);
    const creds = controller.registry.issue('local', controller.agentUrl);
    const thief = agentHandshake({ ...creds, secretKey: keyToText(generateIdentity().secretKey) });

    const closed = await sendAuth(controller, (hello) => thief.onHello(hello));
    expect(closed.code).toBe(CLOSE.UNAUTHORIZED);
    expect(closed.reason).toBe(REFUSED.slice(0, 123));
    expect(laneIds(controller)).not.toContain(creds.agentId);
    await expectUndisturbed(controller, before);
  });

  it('a real agent process holding an unissued key exits with the refusal instead of retrying', async () => {
    const { controller, logs } = await startController(cleanup);
    const creds = controller.registry.issue('local', controller.agentUrl, { slots: 1, graceMs: 3_000 });
    const agent = spawnAgent({ ...creds, secretKey: keyToText(generateIdentity().secretKey) }, cleanup);
    const exit = await within(agent.exited, 10_000, 'refused agent exit');
    // A refusal the controller signed is fatal (exit 2, the reason on stderr); anything else is
    // a network blip or tampering, retried until graceMs, then exit 0 as "controller unreachable".
    expect(exit.code, agent.stderr()).toBe(2);
    expect(agent.stderr()).toContain(REFUSED);
    expect(logs.filter((l) => /refused 1 agent connection/.test(l))).toHaveLength(1);
  });
});

describe('agent endpoint: what a refusal tells an outsider', () => {
  it('different 4401 reasons for an unknown id and a bad signature tell an outsider which agent ids exist: one reason', async () => {
    const { controller } = await startController(cleanup);
    const creds = controller.registry.issue('local', controller.agentUrl);
    const controllerKey = keyFromText(creds.controllerKey, 32, 'controller key');
    // Same id length, so the refusals could differ only by what the controller knows.
    const unknownId = creds.agentId.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const answers: Array<{ closed: Closed; refusal: Buffer }> = [];
    for (const hs of [new AgentHandshake(unknownId, generateIdentity(), controllerKey), agentHandshake({ ...creds, secretKey: keyToText(generateIdentity().secretKey) })]) {
      const peer = await RawPeer.connect(controller.agentUrl, cleanup);
      await peer.send(hs.onHello(await peer.next()));
      const refusal = await peer.next();
      answers.push({ closed: await peer.whenClosed(), refusal });
    }
    const [unknown, badSignature] = answers;
    expect(unknown!.closed).toEqual(badSignature!.closed);
    expect(unknown!.closed.code).toBe(CLOSE.UNAUTHORIZED);
    expect(unknown!.closed.reason).not.toContain(unknownId);
    // The signed refusals have one shape too: a type byte and a signature.
    expect(unknown!.refusal.length).toBe(badSignature!.refusal.length);
    expect(unknown!.refusal[0]).toBe(badSignature!.refusal[0]);
  });
});

describe('agent endpoint: replayed handshake', () => {
  it('an AUTH recorded from a genuine connection and replayed on a new one is refused with 4401', async () => {
    const { controller } = await startController(cleanup);
    const before = laneIds(controller);
    const genuine = await genuinePeer(controller, cleanup);

    // Replayed while the genuine connection is open...
    const whileOpen = await sendAuth(controller, () => genuine.auth);
    expect(whileOpen.code).toBe(CLOSE.UNAUTHORIZED);
    expect(whileOpen.reason).toBe(REFUSED.slice(0, 123));

    // ...and after it is gone.
    genuine.peer.ws.close(CLOSE.NORMAL);
    await genuine.peer.whenClosed();
    const afterClose = await sendAuth(controller, () => genuine.auth);
    expect(afterClose.code).toBe(CLOSE.UNAUTHORIZED);

    expect(laneIds(controller)).not.toContain(genuine.creds.agentId);
    await expectUndisturbed(controller, before);
  });
});

describe('agent endpoint: tampered frames after a genuine handshake', () => {
  type Attack = (s: Sealer, reflect: Sealer) => Buffer[];
  const attacks: Array<[string, Attack, RegExp]> = [
    ['a frame with one flipped bit', (s) => [flipBit(sealMessage(s, readyMessage()), 10, 3)], /^frame 0 failed authentication/],
    [
      'a replayed frame',
      (s) => {
        const ready = sealMessage(s, readyMessage());
        return [ready, ready];
      },
      /^frame 1 failed authentication/,
    ],
    [
      'a reordered frame',
      (s) => {
        const ready = sealMessage(s, readyMessage());
        const hb1 = sealMessage(s, { t: 'hb', running: 0, queued: 0, rssBytes: 1 });
        const hb2 = sealMessage(s, { t: 'hb', running: 0, queued: 0, rssBytes: 2 });
        return [ready, hb2, hb1];
      },
      /^frame 1 failed authentication/,
    ],
    ['a frame sealed for the other direction (reflected)', (_s, reflect) => [sealMessage(reflect, readyMessage())], /^frame 0 failed authentication/],
  ];

  it.each(attacks)('%s closes the connection with 4400 and a reason; others keep being served', async (_name, attack, reason) => {
    const { controller } = await startController(cleanup);
    const before = laneIds(controller);
    const { peer, keys, sealer, creds } = await genuinePeer(controller, cleanup);
    for (const frame of attack(sealer, new Sealer(keys.toAgent))) await peer.send(frame);
    const closed = await peer.whenClosed();
    expect(closed.code).toBe(CLOSE.BAD_FRAME);
    expect(closed.reason).toMatch(reason);
    await laneGone(controller, creds.agentId);
    await expectUndisturbed(controller, before);
  });

  it('a well-sealed message of the wrong shape from an authenticated agent closes it with 4400 without crashing the controller', async () => {
    const { controller } = await startController(cleanup);
    const before = laneIds(controller);
    for (const bad of [{ t: 'res' }, { t: 'res', r: [7] }, { t: 'res', r: 'x' }]) {
      const { peer, sealer, creds } = await genuinePeer(controller, cleanup);
      await peer.send(sealMessage(sealer, readyMessage()));
      await lanesSatisfy(controller, (lanes) => lanes.some((l) => l.agentId === creds.agentId), 'raw lane added');
      await peer.send(sealMessage(sealer, bad));
      const closed = await peer.whenClosed(3_000);
      expect(closed.code, JSON.stringify(bad)).toBe(CLOSE.BAD_FRAME);
      await laneGone(controller, creds.agentId);
    }
    await expectUndisturbed(controller, before);
  });
});

describe('agent endpoint: garbage and oversized frames', () => {
  it('garbage in place of AUTH (random bytes, text, empty frames) is refused with 4400', async () => {
    const { controller } = await startController(cleanup);
    const before = laneIds(controller);
    const garbage: Array<[string, Uint8Array | string, RegExp]> = [
      ['random bytes', randomBytes(1000), /^malformed AUTH message|^AUTH message too long/],
      ['a short random frame', randomBytes(7), /^malformed AUTH message/],
      ['an empty binary frame', Buffer.alloc(0), /^malformed AUTH message/],
      ['a text frame', 'hello, controller', /^text frame during handshake$/],
      ['an empty text frame', '', /^text frame during handshake$/],
    ];
    for (const [name, bytes, reason] of garbage) {
      const peer = await RawPeer.connect(controller.agentUrl, cleanup);
      await peer.next(); // HELLO
      await peer.send(bytes);
      const closed = await peer.whenClosed();
      expect(closed.code, name).toBe(CLOSE.BAD_FRAME);
      expect(closed.reason, name).toMatch(reason);
    }
    await expectUndisturbed(controller, before);
  });

  it('garbage after a genuine handshake (random bytes, text, empty frames, bad plaintext) is refused with 4400', async () => {
    const { controller } = await startController(cleanup);
    const before = laneIds(controller);
    const garbage: Array<[string, (s: Sealer) => Uint8Array | string, RegExp]> = [
      ['random bytes', () => randomBytes(1000), /^frame 0 failed authentication/],
      ['a text frame', () => 'ready', /^text frame on a binary channel$/],
      ['an empty text frame', () => '', /^text frame on a binary channel$/],
      ['an empty binary frame', () => Buffer.alloc(0), /^frame shorter than its authentication tag$/],
      ['sealed bytes that are not a frame', (s) => s.seal(Buffer.from([0, 0])), /^malformed frame/],
      ['a sealed frame whose message is not JSON', (s) => s.seal(Buffer.from([0, 0, 0, 2, 0x7b, 0x7b])), /^malformed frame: message is not JSON$/],
      ['a sealed message without a type', (s) => sealMessage(s, { hello: 1 }), /^message without a type$/],
      ['a first message other than ready', (s) => sealMessage(s, { t: 'hb', running: 0, queued: 0, rssBytes: 0 }), /^expected ready or ctl, got hb$/],
    ];
    for (const [name, make, reason] of garbage) {
      const { peer, sealer } = await genuinePeer(controller, cleanup);
      await peer.send(make(sealer));
      const closed = await peer.whenClosed();
      expect(closed.code, name).toBe(CLOSE.BAD_FRAME);
      expect(closed.reason, name).toMatch(reason);
    }
    await expectUndisturbed(controller, before);
  });

  it('bytes that break WebSocket framing on the agent path are refused with 1002', async () => {
    const { controller } = await startController(cleanup);
    const before = laneIds(controller);
    const port = Number(new URL(controller.url).port);
    const variants: Array<[string, Buffer]> = [
      ['an unmasked client frame', Buffer.from([0x82, 0x03, 1, 2, 3])],
      ['a reserved opcode', Buffer.from([0x83, 0x80, 1, 2, 3, 4])],
    ];
    for (const [name, bytes] of variants) {
      const tcp = await rawUpgrade(port, '/agent', cleanup);
      tcp.socket.write(bytes);
      await within(tcp.closed, 5_000, `${name}: close`);
      const frames = parseFrames(tcp.received().subarray(tcp.headerBytes));
      expect(frames[0]?.opcode, name).toBe(0x2); // HELLO went out first
      const close = frames.find((f) => f.opcode === 0x8);
      expect(close?.payload.readUInt16BE(0), name).toBe(1002);
    }
    await expectUndisturbed(controller, before);
  });

  it('random bytes instead of an HTTP request are dropped without an answer', async () => {
    const { controller } = await startController(cleanup);
    const before = laneIds(controller);
    const tcp = await rawTcp(Number(new URL(controller.url).port), cleanup);
    tcp.socket.write(Buffer.concat([Buffer.from([0]), randomBytes(4096)]));
    await within(tcp.closed, 5_000, 'garbage connection dropped');
    expect(tcp.received().toString('latin1')).not.toMatch(/flotilla|HELLO/);
    await expectUndisturbed(controller, before);
  });

  it('frames over maxFrameBytes are refused with 1009 before and after the handshake; a frame under it passes', async () => {
    const MAX = 1024 * 1024;
    const { controller, logs } = await startController(cleanup, { maxFrameBytes: MAX });
    const before = laneIds(controller);

    const early = await RawPeer.connect(controller.agentUrl, cleanup);
    await early.next(); // HELLO
    await early.send(randomBytes(MAX + 1));
    expect((await early.whenClosed()).code).toBe(1009);

    const { peer, sealer, creds } = await genuinePeer(controller, cleanup);
    // Just under the limit: the ready message with padding as an attachment (ignored by the endpoint).
    const fits = sealMessage(sealer, readyMessage(), [Buffer.alloc(MAX - 200)]);
    expect(fits.length).toBeLessThanOrEqual(MAX);
    await peer.send(fits);
    await lanesSatisfy(controller, (lanes) => lanes.some((l) => l.agentId === creds.agentId), 'lane from a frame under the limit');
    await peer.send(sealMessage(sealer, { t: 'hb', running: 0, queued: 0, rssBytes: 0 }, [Buffer.alloc(MAX)]));
    expect((await peer.whenClosed()).code).toBe(1009);
    await laneGone(controller, creds.agentId);
    expect(logs.some((l) => l.includes('Max payload size exceeded'))).toBe(true);
    await expectUndisturbed(controller, before);
  });
});

describe('agent endpoint: refusal logs', () => {
  it('each refused connection logs one line: a churn of 300 refused handshakes logs a few lines, with counts per reason', async () => {
    const { controller, logs } = await startController(cleanup);
    const controllerKey = keyFromText(controller.registry.issue('local', controller.agentUrl).controllerKey, 32, 'controller key');
    const before = logs.length;
    const CHURN = 300;
    const one = async (i: number) => {
      const peer = await RawPeer.connect(controller.agentUrl, cleanup);
      const hello = await peer.next();
      // Two reasons: unknown ids, and garbage in place of AUTH.
      await peer.send(i % 3 === 0 ? Buffer.from('garbage') : new AgentHandshake(`local-churn${i}`, generateIdentity(), controllerKey).onHello(hello));
      await peer.whenClosed();
      peer.ws.terminate();
    };
    for (let i = 0; i < CHURN; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => one(i + k)));
    controller['endpoint'].refusals?.flush();
    const lines = logs.slice(before).filter((l) => l.includes('refused'));
    expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(3);
    const summed = lines.map((l) => Number(/refused (\d+)/.exec(l)?.[1] ?? 0)).reduce((a, b) => a + b, 0);
    expect(summed).toBe(CHURN);
    expect(lines.at(-1)).toMatch(/\d+ unknown or revoked agent id/);
    expect(lines.at(-1)).toMatch(/\d+ malformed AUTH message/);
    await expectStillServing(controller);
  });
});

/**
 * Holds as many agent handshakes open as the controller lets it, from `sources` (loopback
 * addresses): each socket waits for HELLO and never answers; one the controller closes after
 * holding it is opened again at once. Returns how many it holds now, and the most it held when it took one again since `mark()`.
 */
function holdHandshakes(url: string, sources: string[], perSource: number) {
  let stopped = false;
  let holding = 0;
  let peak = 0; // the most held at once when one was taken (again) since the last mark
  const sockets = new Set<WebSocket>();
  const open = (source: string) => {
    if (stopped) return;
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: source });
    sockets.add(ws);
    let held = false;
    ws.on('error', () => {});
    ws.on('message', () => {
      if (!held) peak = Math.max(peak, ++holding);
      held = true;
    });
    ws.on('close', () => {
      sockets.delete(ws);
      if (held) holding--;
      if (held) open(source); // it was let in: take the place again
    });
  };
  for (const s of sources) for (let i = 0; i < perSource; i++) open(s);
  cleanup.add(() => {
    stopped = true;
    for (const ws of sockets) ws.terminate();
  });
  return { holding: () => holding, mark: () => (peak = 0), peak: () => peak };
}

describe('agent endpoint: pending handshakes', () => {
  it('256 pending handshakes from anyone block every other agent, including local ones on the Unix socket: new agents still connect and a job completes', async () => {
    const { controller } = await startController(cleanup);
    expect(controller.localAgentUrl).toMatch(/^ws\+unix:/);
    const attack = holdHandshakes(controller.agentUrl, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], 90);
    await until(() => attack.holding() >= 250, 15_000);
    attack.mark();
    // A new local agent (Unix socket) and a new agent over TCP from another address.
    const local = controller.registry.issue('local', controller.localAgentUrl, { slots: 1 });
    const remote = controller.registry.issue('local', controller.agentUrl, { slots: 1 });
    spawnAgent(local, cleanup);
    spawnAgent(remote, cleanup);
    await lanesSatisfy(controller, (lanes) => [local, remote].every((c) => lanes.some((l) => l.agentId === c.agentId)), 'both new agents connected during the attack', 15_000);
    // Held handshakes time out (5 s) and are taken again at once: on a loaded machine the count
    // dips between waves, so what shows the attack lasted is how many it held meanwhile.
    expect(Math.max(attack.holding(), attack.peak())).toBeGreaterThanOrEqual(200);
    await expectStillServing(controller);
  });
});
