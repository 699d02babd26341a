/**
 * Local agents started ahead of an embedded controller (server/launchers/local/spares.ts): the
 * controller's local pool adopts them instead of spawning others, those nobody adopts are killed,
 * and a connect() that fails leaves none behind. Real agent processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dropSpares, initialLocalAgents, startSpares } from '../../server/launchers/local/spares.js';
import { Controller } from '../../server/controller.js';
import { connect } from '../../client/index.js';
import { FlotillaError } from '../../contract/errors.js';

/** Running (not zombie) child processes of this one that run the agent bundle. */
function agentChildren(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent.mjs')) out.push(pid);
    } catch {
      // ended while we looked
    }
  }
  return out.sort();
}

afterEach(async () => {
  await dropSpares();
});

describe('local agents started ahead of an embedded controller', () => {
  it("the embedded controller's local pool adopts them instead of starting others", async () => {
    const pids = await startSpares(2);
    expect(pids).toHaveLength(2);
    const c = await Controller.start({ embedded: true, pools: { local: { launcher: 'local', agents: 2 } } });
    try {
      await c.waitForLanes(2, { timeoutMs: 60_000 });
      const lanePids = [...new Set(c.agents().lanes.map((l) => l.pid))].sort();
      expect(lanePids).toEqual([...pids].sort());
      expect(agentChildren()).toEqual([...pids].sort());
    } finally {
      await c.close();
    }
  });

  it('a pool with its own env or node binary starts its own agents; the spares are then killed', async () => {
    const pids = await startSpares(1);
    const c = await Controller.start({ embedded: true, pools: { local: { launcher: 'local', agents: 1, env: { SPARE_TEST: '1' } } } });
    try {
      await c.waitForLanes(1, { timeoutMs: 60_000 });
      expect(c.agents().lanes.map((l) => l.pid)).not.toContain(pids[0]);
      await dropSpares();
      expect(agentChildren()).not.toContain(pids[0]);
    } finally {
      await c.close();
    }
  });

  it('agents started ahead that nobody adopts are killed, even while still starting', async () => {
    const started = startSpares(2);
    await dropSpares(); // before they ran
    const pids = await started;
    await dropSpares();
    for (const pid of pids) expect(agentChildren()).not.toContain(pid);
    const more = await startSpares(1);
    expect(agentChildren()).toEqual(more);
    await dropSpares();
    expect(agentChildren()).toEqual([]);
  });

  it('connect() whose controller cannot start leaves no agent process behind', async () => {
    const err = await connect({ pools: { local: { launcher: 'local', agents: 2, agnets: 3 } as never } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlotillaError);
    expect((err as FlotillaError).code).toBe('BAD_INPUT');
    expect(agentChildren()).toEqual([]);
  });

  it('counts the agents local pools start with, nothing for pools it cannot match or read', () => {
    expect(initialLocalAgents(undefined)).toBe(Math.min(availableParallelism(), 16));
    expect(initialLocalAgents({ a: { launcher: 'local', agents: 3 }, b: { launcher: 'local', max: 4 }, c: { launcher: 'local', min: 1, max: 4 } })).toBe(4);
    expect(initialLocalAgents({ a: { launcher: 'local', agents: 2, env: { X: '1' } }, b: { launcher: 'local', agents: 2, node: '/usr/bin/node' } })).toBe(0);
    expect(initialLocalAgents({ s: { launcher: 'ssh', hosts: ['h'] }, bad: { launcher: 'local', agents: -1 }, nul: null })).toBe(0);
    expect(initialLocalAgents('nope')).toBe(0);
    expect(initialLocalAgents({ a: { launcher: 'local', agents: 40 } })).toBe(16);
  });
});
