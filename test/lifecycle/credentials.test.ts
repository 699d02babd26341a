/**
 * How an agent takes its credentials and what it refuses: a credentials file others can read,
 * garbage instead of credentials, a controller that cannot prove it holds the expected key, a
 * controller that does not know the agent's key. And the secret never shows in the agent's argv
 * or environment, where any user on the host could read it.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Controller } from '../../server/controller.js';
import { AgentRegistry } from '../../server/registry.js';
import { generateIdentity } from '../../agent/protocol/generate-identity.js';
import { keyToText } from '../../agent/protocol/identity.js';
import type { AgentCredentials } from '../../agent/protocol/identity.js';
import { Reaper, startAgent, tempDir, waitGone, within } from './helpers.js';

/** Well-formed credentials for a controller that is not there. */
function offlineCredentials(extra: Partial<AgentCredentials> = {}): AgentCredentials {
  return {
    agentId: 'offline-1',
    secretKey: keyToText(generateIdentity().secretKey),
    controllerKey: keyToText(generateIdentity().publicKey),
    url: 'ws://127.0.0.1:1/agent',
    slots: 1,
    ...extra,
  };
}

async function startController(reaper: Reaper, pools: Record<string, { launcher: 'local'; agents: number; slots: number }> = {}) {
  const logs: string[] = [];
  const c = await Controller.start({ pools, embedded: true, requireToken: false, log: (l) => logs.push(l) });
  reaper.add(() => c.close());
  return { c, logs };
}

describe('agent credentials', () => {
  it('a credentials file readable by others is refused, naming the file and chmod 600', async () => {
    const reaper = new Reaper();
    const file = join(tempDir(reaper), 'agent.json');
    // A short grace period: once the mode is right, this agent gives up on the absent controller fast.
    writeFileSync(file, JSON.stringify(offlineCredentials({ graceMs: 200 })) + '\n');
    chmodSync(file, 0o644);

    const refused = startAgent(reaper, { args: ['--credentials-file', file] });
    const ended = await within(refused.exited, 5_000, 'agent with a 0644 credentials file');
    expect(ended.code).not.toBe(0);
    expect(ended.code).not.toBeNull();
    expect(refused.stderr()).toContain(file);
    expect(refused.stderr()).toContain('chmod 600');

    // Control: the very same file at 0600 is accepted (the agent then dials and gives up cleanly).
    chmodSync(file, 0o600);
    const accepted = startAgent(reaper, { args: ['--credentials-file', file] });
    const ok = await within(accepted.exited, 5_000, 'agent with a 0600 credentials file');
    expect(accepted.stderr()).not.toContain('chmod 600');
    expect(accepted.stderr()).toContain('controller unreachable');
    expect(ok.code).toBe(0);
  });

  it('garbage on stdin instead of credentials exits non-zero with a clear message', async () => {
    const reaper = new Reaper();
    const agent = startAgent(reaper, { stdinLine: 'this is not json\n' });
    const ended = await within(agent.exited, 5_000, 'agent fed garbage');
    expect(ended.code).not.toBe(0);
    expect(ended.code).not.toBeNull();
    expect(agent.stderr()).toMatch(/cannot start: credentials are not JSON/);
  });

  it('an agent given the wrong controllerKey refuses the controller and exits non-zero instead of retrying', async () => {
    const reaper = new Reaper();
    const { c } = await startController(reaper);
    // A grace period longer than the wait: only the refusal can end the agent in time (and it exits non-zero).
    const creds = c.registry.issue('external', c.agentUrl, { slots: 2, graceMs: 120_000 });
    creds.controllerKey = keyToText(generateIdentity().publicKey);

    const agent = startAgent(reaper, { stdinLine: JSON.stringify(creds) + '\n' }); // stdin stays open
    const ended = await within(agent.exited, 15_000, 'agent facing an impostor controller');
    expect(ended.code).not.toBe(0);
    expect(ended.code).not.toBeNull();
    expect(agent.stderr()).toContain('the controller failed to prove its identity');
    expect(c.scheduler.lanes.size).toBe(0);
  });

  it('an agent whose key the controller does not know (revoked) exits non-zero instead of redialing until graceMs', async () => {
    const reaper = new Reaper();
    const { c, logs } = await startController(reaper);
    const creds = c.registry.issue('external', c.agentUrl, { slots: 1, graceMs: 120_000 });
    c.registry.revoke(creds.agentId);

    const agent = startAgent(reaper, { stdinLine: JSON.stringify(creds) + '\n' }); // stdin stays open
    const ended = await within(agent.exited, 15_000, () => `agent refused by its controller (controller refused it ${logs.filter((l) => l.includes('holds no key')).length} times meanwhile)`);
    expect(ended.code).not.toBe(0);
    expect(agent.stderr()).toMatch(/refused|holds no key/i);
  });

  it("the agent's secret key appears in neither its argv nor its environment", async () => {
    const reaper = new Reaper();
    const issue = vi.spyOn(AgentRegistry.prototype, 'issue');
    reaper.add(() => issue.mockRestore());
    const { c, logs } = await startController(reaper, { local: { launcher: 'local', agents: 1, slots: 1 } });
    await c.waitForLanes(1, { timeoutMs: 15_000 });
    const [handle] = [...c.pools.get('local')!.handles.values()];
    const pid = handle!.pid!;
    reaper.pid(pid);
    const issued = issue.mock.results.map((r) => r.value as AgentCredentials).find((cr) => cr.agentId === handle!.agentId);
    expect(issued?.secretKey).toBeTypeOf('string');
    const secret = issued!.secretKey;

    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(cmdline.some((a) => a.endsWith('agent.mjs'))).toBe(true); // it is the agent we think
    expect(cmdline.join(' ')).not.toContain(secret);
    expect(environ).not.toContain(secret);
    expect(environ).toContain('FLOTILLA_AGENT=1');
    // Nor does the agent write it to the log its controller keeps.
    expect(logs.join('\n')).not.toContain(secret);

    await c.close();
    await waitGone([pid], 5_000, 'agent after close');
  });
});
