/**
 * A relay or tunnel between agent and controller that flips one bit of the handshake, once. The
 * handshake fails, as it must; but only a refusal the controller signed may end the agent: after
 * an altered HELLO, AUTH or WELCOME, a real agent dials again and gets its lane.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expectStillServing, lanesSatisfy, spawnAgent, startController, tamperingRelay, within } from './helpers.js';
import { Reaper } from '../support/reaper.js';
import type { Flip } from './helpers.js';

const cleanup = Reaper.afterEach();

const flips: Array<[string, Flip]> = [
  ['HELLO (its challenge)', { direction: 'toAgent', frame: 0, byte: 10, bit: 3 }],
  ['AUTH (its nonce)', { direction: 'toController', frame: 0, byte: 40, bit: 1 }],
  ['WELCOME (its signature)', { direction: 'toAgent', frame: 1, byte: 20, bit: 5 }],
];

describe('one flipped bit in HELLO/AUTH/WELCOME from an on-path relay makes the agent exit for good', () => {
  it.each(flips)('a bit flipped in %s: the agent dials again and its lane runs tasks', async (_name, flip) => {
    const { controller } = await startController(cleanup);
    const relay = await tamperingRelay(Number(new URL(controller.url).port), flip, cleanup);
    const creds = controller.registry.issue('local', relay.agentUrl, { slots: 1, graceMs: 20_000 });
    const agent = spawnAgent(creds, cleanup);
    const exitedEarly = agent.exited.then((e) => {
      throw new Error(`the agent exited (code ${e.code}) instead of dialling again: ${agent.stderr()}`);
    });
    await within(relay.flipped, 10_000, 'the relay flipping its bit');
    await Promise.race([lanesSatisfy(controller, (lanes) => lanes.some((l) => l.agentId === creds.agentId), 'lane through the relay', 20_000), exitedEarly]);
    expect(relay.connections()).toBeGreaterThanOrEqual(2);
    await expectStillServing(controller);
    expect(agent.child.exitCode).toBeNull();
  });
});
