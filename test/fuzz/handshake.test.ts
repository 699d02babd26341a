/**
 * Fuzz: the handshake messages (agent/protocol/handshake.ts) as each side reads the other's:
 * HELLO and WELCOME on the agent, AUTH on the controller. Random and mutated messages are refused
 * with CHANNEL or UNAUTHORIZED, never accepted and never a crash; the genuine exchange still works.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentHandshake, ControllerHandshake } from '../../agent/protocol/handshake.js';
import { generateIdentity } from '../../agent/protocol/generate-identity.js';
import { budget, mutated, params, refusedOrOk } from './fuzz.js';

const controllerId = generateIdentity();
const agentIdentity = generateIdentity();
const AGENT = 'local-fuzz0001';
const lookup = (id: string) => (id === AGENT ? agentIdentity.publicKey : undefined);

/** A genuine exchange: HELLO, AUTH, WELCOME, and both sides. */
function exchange() {
  const controller = new ControllerHandshake(controllerId);
  const agent = new AgentHandshake(AGENT, agentIdentity, controllerId.publicKey);
  const auth = agent.onHello(controller.hello);
  const { welcome } = controller.onAuth(auth, lookup);
  return { controller, agent, auth, welcome };
}

const seed = fc.constant(null).map(() => exchange());

describe('fuzz: handshake messages', () => {
  it('the controller refuses any AUTH but the genuine one, with CHANNEL or UNAUTHORIZED', () => {
    fc.assert(
      fc.property(seed.chain((x) => fc.tuple(fc.constant(x), mutated(fc.constant(new Uint8Array(x.auth))))), ([{ controller, auth }, bad]) => {
        if (bad.equals(auth)) return;
        const ok = refusedOrOk(() => controller.onAuth(bad, lookup), ['CHANNEL', 'UNAUTHORIZED']);
        expect(ok).toBeUndefined();
      }),
      params(),
    );
  }, budget(40));

  it('the agent refuses any HELLO of another shape or version, and any WELCOME but the genuine one', () => {
    fc.assert(
      fc.property(seed.chain((x) => fc.tuple(fc.constant(x), mutated(fc.constant(new Uint8Array(x.controller.hello))), mutated(fc.constant(new Uint8Array(x.welcome))))), ([{ controller, welcome }, hello, badWelcome]) => {
        // Any 66-byte HELLO of the right type and version is answered (its challenge is the peer's to pick).
        const fresh = new AgentHandshake(AGENT, agentIdentity, controllerId.publicKey);
        const answered = refusedOrOk(() => fresh.onHello(hello), ['CHANNEL'], /^(malformed HELLO message|controller speaks protocol)/);
        if (answered) expect(hello.length === 66 && hello[0] === 1 && hello[1] === 1).toBe(true);
        const agent = new AgentHandshake(AGENT, agentIdentity, controllerId.publicKey);
        agent.onHello(controller.hello);
        if (!badWelcome.equals(welcome)) expect(refusedOrOk(() => agent.onWelcome(badWelcome), ['CHANNEL', 'UNAUTHORIZED'])).toBeUndefined();
        // WELCOME before HELLO is refused too.
        expect(refusedOrOk(() => new AgentHandshake(AGENT, agentIdentity, controllerId.publicKey).onWelcome(welcome), ['CHANNEL'], /WELCOME before HELLO/)).toBeUndefined();
      }),
      params(),
    );
  }, budget(40));

  it('a genuine exchange still agrees on the keys', () => {
    const controller = new ControllerHandshake(controllerId);
    const agent = new AgentHandshake(AGENT, agentIdentity, controllerId.publicKey);
    const { keys, welcome } = controller.onAuth(agent.onHello(controller.hello), lookup);
    expect(agent.onWelcome(welcome)).toEqual(keys);
  });
});
