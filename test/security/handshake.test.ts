/**
 * The handshake and the frame sealing as pure functions over bytes: what each side accepts,
 * what it refuses, and with which error code.
 */
import { describe, it, expect } from 'vitest';
import { AgentHandshake, ControllerHandshake, REFUSED } from '../../agent/protocol/handshake.js';
import type { SessionKeys } from '../../agent/protocol/handshake.js';
import { Opener, Sealer } from '../../agent/protocol/seal.js';
import { FlotillaError } from '../../contract/errors.js';
import { generateIdentity } from '../../agent/protocol/generate-identity.js';
import type { Identity } from '../../agent/protocol/identity.js';
import { flipBit } from './helpers.js';

const AGENT_ID = 'local-0123456789ab';

function failure(run: () => unknown): FlotillaError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FlotillaError);
    return err as FlotillaError;
  }
  throw new Error('expected a FlotillaError');
}

interface Parties {
  controller: Identity;
  agent: Identity;
  issued: Map<string, Uint8Array>;
  lookup(id: string): Uint8Array | undefined;
}

function parties(): Parties {
  const controller = generateIdentity();
  const agent = generateIdentity();
  const issued = new Map([[AGENT_ID, agent.publicKey]]);
  return { controller, agent, issued, lookup: (id) => issued.get(id) };
}

/** One complete, genuine handshake; every message as it went over the wire. */
function handshake(p: Parties) {
  const c = new ControllerHandshake(p.controller);
  const a = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
  const auth = a.onHello(c.hello);
  const accepted = c.onAuth(auth, p.lookup);
  const agentKeys = a.onWelcome(accepted.welcome);
  return { c, a, hello: c.hello, auth, welcome: accepted.welcome, controllerKeys: accepted.keys, agentKeys, agentId: accepted.agentId };
}

function hex(k: SessionKeys): [string, string] {
  return [k.toAgent.toString('hex'), k.toController.toString('hex')];
}

describe('handshake', () => {
  it('both sides derive the same per-direction keys, distinct per direction and per connection', () => {
    const p = parties();
    const one = handshake(p);
    expect(one.agentId).toBe(AGENT_ID);
    expect(hex(one.agentKeys)).toEqual(hex(one.controllerKeys));
    expect(one.agentKeys.toAgent).toHaveLength(32);
    expect(one.agentKeys.toController).toHaveLength(32);
    expect(one.agentKeys.toAgent.equals(one.agentKeys.toController)).toBe(false);

    // Same identities, new connection: fresh challenge and ephemeral keys give new session keys.
    const two = handshake(p);
    expect(two.hello.subarray(2, 34).equals(one.hello.subarray(2, 34))).toBe(false);
    expect(hex(two.agentKeys)).not.toEqual(hex(one.agentKeys));

    // The keys actually interoperate as the channel uses them.
    const toAgent = new Sealer(one.controllerKeys.toAgent);
    const atAgent = new Opener(one.agentKeys.toAgent);
    expect(atAgent.open(toAgent.seal(Buffer.from('hello agent'))).toString()).toBe('hello agent');
    const toController = new Sealer(one.agentKeys.toController);
    const atController = new Opener(one.controllerKeys.toController);
    expect(atController.open(toController.seal(Buffer.from('hello controller'))).toString()).toBe('hello controller');
  });

  it('an agent holding the wrong controller key refuses the WELCOME with UNAUTHORIZED', () => {
    const p = parties();
    const c = new ControllerHandshake(p.controller);
    const a = new AgentHandshake(AGENT_ID, p.agent, generateIdentity().publicKey);
    const { welcome } = c.onAuth(a.onHello(c.hello), p.lookup);
    const e = failure(() => a.onWelcome(welcome));
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.message).toMatch(/controller failed to prove its identity/);
  });

  it('an impostor controller (its own key, the genuine HELLO format) is refused with UNAUTHORIZED', () => {
    const p = parties();
    const impostor = new ControllerHandshake(generateIdentity());
    const a = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
    // The impostor does not know the agent's key, so it accepts anything it is sent.
    const { welcome } = impostor.onAuth(a.onHello(impostor.hello), () => p.agent.publicKey);
    expect(failure(() => a.onWelcome(welcome)).code).toBe('UNAUTHORIZED');
  });

  it('a tampered WELCOME is refused with UNAUTHORIZED, whichever bit flips', () => {
    const p = parties();
    for (const byte of [1, 20, 64]) {
      const c = new ControllerHandshake(p.controller);
      const a = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
      const { welcome } = c.onAuth(a.onHello(c.hello), p.lookup);
      const e = failure(() => a.onWelcome(flipBit(welcome, byte, byte % 8)));
      expect(e.code, `bit flipped in byte ${byte}`).toBe('UNAUTHORIZED');
    }
  });

  it('a WELCOME recorded on another connection is refused with UNAUTHORIZED', () => {
    const p = parties();
    const recorded = handshake(p).welcome;
    const c = new ControllerHandshake(p.controller);
    const a = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
    c.onAuth(a.onHello(c.hello), p.lookup);
    expect(failure(() => a.onWelcome(recorded)).code).toBe('UNAUTHORIZED');
  });

  it('a malformed WELCOME or HELLO is a CHANNEL error, and a WELCOME before HELLO is refused', () => {
    const p = parties();
    const early = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
    expect(failure(() => early.onWelcome(Buffer.alloc(65, 3))).code).toBe('CHANNEL');
    const a = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
    expect(failure(() => a.onHello(Buffer.alloc(0))).code).toBe('CHANNEL');
    expect(failure(() => a.onHello(Buffer.concat([Buffer.from([1, 99]), Buffer.alloc(64)]))).message).toMatch(/protocol 99/);
    const c = new ControllerHandshake(p.controller);
    c.onAuth(a.onHello(c.hello), p.lookup);
    expect(failure(() => a.onWelcome(Buffer.alloc(3))).code).toBe('CHANNEL');
  });

  it('an AUTH from an agent id the controller never issued is refused with UNAUTHORIZED', () => {
    const p = parties();
    const c = new ControllerHandshake(p.controller);
    const stranger = new AgentHandshake('local-made-up-id', generateIdentity(), p.controller.publicKey);
    const e = failure(() => c.onAuth(stranger.onHello(c.hello), p.lookup));
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.message).toBe(REFUSED);
    expect(e.context.why).toMatch(/unknown/);
  });

  it('an AUTH for an issued agent id signed with another key is refused with UNAUTHORIZED', () => {
    const p = parties();
    const c = new ControllerHandshake(p.controller);
    const thief = new AgentHandshake(AGENT_ID, generateIdentity(), p.controller.publicKey);
    const e = failure(() => c.onAuth(thief.onHello(c.hello), p.lookup));
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.message).toBe(REFUSED);
    expect(e.context.why).toMatch(/bad signature/);
  });

  it('an AUTH replayed against a new HELLO is refused with UNAUTHORIZED', () => {
    const p = parties();
    const { auth } = handshake(p);
    const fresh = new ControllerHandshake(p.controller);
    const e = failure(() => fresh.onAuth(auth, p.lookup));
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.context.why).toMatch(/replayed/);
  });

  it('an AUTH with any bit flipped (ephemeral key, nonce, signature, id) is refused', () => {
    const p = parties();
    // Offsets: 1..32 ephemeral key, 33..64 agent nonce, 65..128 signature, 129.. agent id.
    for (const byte of [1, 40, 100, 130]) {
      const c = new ControllerHandshake(p.controller);
      const a = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
      const e = failure(() => c.onAuth(flipBit(a.onHello(c.hello), byte, 1), p.lookup));
      expect(e.code, `bit flipped in byte ${byte}`).toBe('UNAUTHORIZED');
    }
  });

  it('a revoked key is refused like an unknown one', () => {
    const p = parties();
    p.issued.delete(AGENT_ID);
    const c = new ControllerHandshake(p.controller);
    const a = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
    expect(failure(() => c.onAuth(a.onHello(c.hello), p.lookup)).code).toBe('UNAUTHORIZED');
  });

  it('a refusal the controller signed is final for the agent; an altered one, or one for another AUTH, is not', () => {
    const p = parties();
    const c = new ControllerHandshake(p.controller);
    const a = new AgentHandshake('local-made-up-id', generateIdentity(), p.controller.publicKey);
    const auth = a.onHello(c.hello);
    expect(failure(() => c.onAuth(auth, p.lookup)).code).toBe('UNAUTHORIZED');
    const refusal = c.refusal(auth);
    const final = failure(() => a.onReply(refusal));
    expect(final.code).toBe('UNAUTHORIZED');
    expect(final.context.refused).toBe(true);
    expect(final.message).toContain(REFUSED);
    // The same bytes on another connection, or with one bit flipped, prove nothing.
    const other = new AgentHandshake('local-made-up-id', generateIdentity(), p.controller.publicKey);
    other.onHello(new ControllerHandshake(p.controller).hello);
    expect(failure(() => other.onReply(refusal)).code).toBe('CHANNEL');
    const b = new AgentHandshake('local-made-up-id', generateIdentity(), p.controller.publicKey);
    const c2 = new ControllerHandshake(p.controller);
    const auth2 = b.onHello(c2.hello);
    expect(failure(() => b.onReply(flipBit(c2.refusal(auth2), 30))).code).toBe('CHANNEL');
    // A refusal for an AUTH altered on the way does not verify against what the agent sent.
    const d = new AgentHandshake(AGENT_ID, p.agent, p.controller.publicKey);
    const c3 = new ControllerHandshake(p.controller);
    const sent = d.onHello(c3.hello);
    const altered = flipBit(sent, 40);
    expect(failure(() => c3.onAuth(altered, p.lookup)).code).toBe('UNAUTHORIZED');
    expect(failure(() => d.onReply(c3.refusal(altered))).code).toBe('CHANNEL');
  });

  it('a malformed or oversized AUTH is a CHANNEL error', () => {
    const p = parties();
    const c = new ControllerHandshake(p.controller);
    expect(failure(() => c.onAuth(Buffer.alloc(0), p.lookup)).code).toBe('CHANNEL');
    expect(failure(() => c.onAuth(Buffer.alloc(200, 7), p.lookup)).code).toBe('CHANNEL'); // wrong type byte
    const long = Buffer.concat([Buffer.from([2]), Buffer.alloc(128 + 129, 0x61)]);
    expect(failure(() => c.onAuth(long, p.lookup)).message).toMatch(/too long/);
  });
});

describe('Sealer / Opener', () => {
  function pair() {
    const keys = handshake(parties()).agentKeys;
    return { sealer: new Sealer(keys.toController), opener: new Opener(keys.toController), keys };
  }

  it('frames open in order and the same plaintext never seals to the same bytes', () => {
    const { sealer, opener } = pair();
    const a = sealer.seal(Buffer.from('same'));
    const b = sealer.seal(Buffer.from('same'));
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from('same'))).toBe(false);
    expect(opener.open(a).toString()).toBe('same');
    expect(opener.open(b).toString()).toBe('same');
    expect(opener.open(sealer.seal(Buffer.alloc(0)))).toHaveLength(0);
  });

  it('a frame with one flipped bit, in the body or in the tag, fails with CHANNEL', () => {
    const body = pair();
    const f = body.sealer.seal(Buffer.from('pay me 100'));
    expect(failure(() => body.opener.open(flipBit(f, 4))).code).toBe('CHANNEL');
    const tag = pair();
    const g = tag.sealer.seal(Buffer.from('pay me 100'));
    const e = failure(() => tag.opener.open(flipBit(g, g.length - 1, 7)));
    expect(e.code).toBe('CHANNEL');
    expect(e.message).toMatch(/frame 0 failed authentication/);
  });

  it('a replayed frame fails with CHANNEL', () => {
    const { sealer, opener } = pair();
    const f = sealer.seal(Buffer.from('once'));
    opener.open(f);
    const e = failure(() => opener.open(f));
    expect(e.code).toBe('CHANNEL');
    expect(e.message).toMatch(/frame 1 failed/);
  });

  it('reordered frames fail with CHANNEL, as does a dropped one', () => {
    const { sealer, opener } = pair();
    const first = sealer.seal(Buffer.from('first'));
    const second = sealer.seal(Buffer.from('second'));
    expect(failure(() => opener.open(second)).code).toBe('CHANNEL');
    // The failed frame did not move the counter: the genuine order still opens.
    expect(opener.open(first).toString()).toBe('first');
    sealer.seal(Buffer.from('dropped'));
    expect(failure(() => opener.open(sealer.seal(Buffer.from('after the gap')))).code).toBe('CHANNEL');
  });

  it('a frame sealed for the other direction, or under another connection’s key, fails with CHANNEL', () => {
    const { keys } = pair();
    const reflected = new Sealer(keys.toAgent).seal(Buffer.from('reflected'));
    expect(failure(() => new Opener(keys.toController).open(reflected)).code).toBe('CHANNEL');
    const other = pair().keys;
    const foreign = new Sealer(other.toController).seal(Buffer.from('foreign'));
    expect(failure(() => new Opener(keys.toController).open(foreign)).code).toBe('CHANNEL');
  });

  it('ciphers made ahead (prepare) seal the same bytes under the same nonces, and still refuse replays and reordering', () => {
    const { keys } = pair();
    const plain = new Sealer(keys.toController);
    const ahead = new Sealer(keys.toController);
    const opener = new Opener(keys.toController);
    const frames: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      ahead.prepare();
      ahead.prepare(); // twice: still the one next frame's
      const f = ahead.seal(Buffer.from(`frame ${i}`));
      expect(f.equals(plain.seal(Buffer.from(`frame ${i}`)))).toBe(true);
      frames.push(f);
    }
    opener.prepare();
    expect(opener.open(frames[0]!).toString()).toBe('frame 0');
    opener.prepare();
    expect(failure(() => opener.open(frames[0]!)).message).toMatch(/frame 1 failed authentication/);
    opener.prepare();
    expect(failure(() => opener.open(frames[2]!)).message).toMatch(/frame 1 failed authentication/);
    expect(opener.open(frames[1]!).toString()).toBe('frame 1');
    opener.prepare();
    expect(failure(() => opener.open(flipBit(frames[2]!, 3))).code).toBe('CHANNEL');
    expect(opener.open(frames[2]!).toString()).toBe('frame 2');
  });

  it('a frame shorter than its tag fails with CHANNEL', () => {
    const { opener } = pair();
    expect(failure(() => opener.open(Buffer.alloc(0))).message).toMatch(/shorter than its authentication tag/);
    expect(failure(() => opener.open(Buffer.alloc(15))).code).toBe('CHANNEL');
  });
});
