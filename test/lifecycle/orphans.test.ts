/**
 * Agents never outlive whoever started them: an app killed with SIGKILL takes its local agents
 * with it (the stdin lifeline closes), and an agent started from a credentials file, with no
 * lifeline, ends once its controller has been unreachable for the grace period.
 */
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Controller } from '../../server/controller.js';
import { Reaper, isGone, startAgent, startFixture, tempDir, waitGone, within } from './helpers.js';
import { scaled } from '../support/timing.js';

describe('orphaned agents', () => {
  it('an agent whose stdin closes (its launcher is gone) exits 0 at once', async () => {
    const reaper = new Reaper();
    const c = await Controller.start({ pools: {}, embedded: true, requireToken: false, log: () => {} });
    reaper.add(() => c.close());
    const creds = c.registry.issue('external', c.agentUrl, { slots: 1, graceMs: 20_000, idleTimeoutMs: 60_000 });
    const agent = startAgent(reaper, { stdinLine: JSON.stringify(creds) + '\n' });
    await c.waitForLanes(1, { timeoutMs: 10_000 });

    const t0 = Date.now();
    agent.child.stdin.end();
    const ended = await within(agent.exited, 3_000, 'agent after its stdin closed');
    expect(ended.code).toBe(0);
    expect(ended.at - t0).toBeLessThan(scaled(2_000));
    expect(agent.stderr()).toContain('stdin closed');
    await waitGone([agent.pid], 1_000, 'agent');
  });

  it('agents of an app process killed with SIGKILL exit within seconds (their lifeline closes)', async () => {
    const reaper = new Reaper();
    // Its own TMPDIR: killed, the app cannot remove its embedded controller's state folder there.
    const app = startFixture(reaper, 'embedded-client.ts', [], { ...process.env, TMPDIR: tempDir(reaper) });
    const { agents } = await within(app.nextJson<{ pid: number; agents: number[] }>(), 20_000, 'app with two connected agents');
    expect(agents).toHaveLength(2);
    for (const pid of agents) reaper.pid(pid);
    expect(agents.every((pid) => !isGone(pid))).toBe(true);

    app.child.kill('SIGKILL');
    const ended = await within(app.exited, 5_000, 'app killed');
    expect(ended.signal).toBe('SIGKILL');
    await waitGone(agents, 5_000, 'agents of the killed app');
  });

  it('an agent started from a 0600 credentials file exits once its killed controller stays unreachable past graceMs', async () => {
    const reaper = new Reaper();
    const dir = tempDir(reaper);
    const file = join(dir, 'agent.json');
    const graceMs = 1500;
    const controller = startFixture(reaper, 'standalone-controller.ts', [file, String(graceMs), join(dir, 'state')]);
    const { agentId } = await within(controller.nextJson<{ pid: number; agentId: string }>(), 20_000, 'controller issuing credentials');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // stdin stays open and unread: only the grace period can end this agent.
    const agent = startAgent(reaper, { args: ['--credentials-file', file] });
    await within(controller.nextJson(), 10_000, `agent ${agentId} connecting`);

    controller.child.kill('SIGKILL');
    const killedAt = (await within(controller.exited, 5_000, 'controller killed')).at;
    const ended = await within(agent.exited, graceMs + 4_000, 'agent after its controller died');
    const afterMs = ended.at - killedAt;
    // The supervisor notes "connected" every 100 ms tick, so it may count from just before the kill;
    // and the kill is seen here when its exit is reported, later still on a loaded machine.
    expect(afterMs).toBeGreaterThanOrEqual(graceMs - 400);
    expect(afterMs).toBeLessThan(graceMs + scaled(3_000));
    expect(ended.code).toBe(0);
    expect(agent.stderr()).toContain(`controller unreachable for ${graceMs} ms`);
    await waitGone([agent.pid], 1_000, 'agent');
  });
});
