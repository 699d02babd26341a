/**
 * What an agent's exit means for its pool, on its own (no processes): a failed launch, a healthy
 * end, a lost host connection, or a clean leave that lets `min` wait for the next job.
 */
import { describe, expect, it } from 'vitest';
import { EARLY_EXIT_MS, exitMeaning, exitReason, newAgent } from '../../server/pool-agent.js';
import type { Agent } from '../../server/pool-agent.js';
import type { AgentExit } from '../../server/launchers/launcher.js';

const T0 = 1_000_000;

function agent(more: Partial<Agent> = {}): Agent {
  const a = newAgent('a1', 0);
  const never = new Promise<AgentExit>(() => {});
  return { ...a, launchedAt: T0, handle: { agentId: 'a1', host: 'h1', pid: 42, exited: never, stop: async () => {} }, ...more };
}
const exit = (more: Partial<AgentExit> = {}): AgentExit => ({ exitCode: 1, signal: null, stderrTail: 'one\ntwo\n', ...more });

describe('an agent exit, as its pool reads it', () => {
  it('a retired agent ends healthy, however it ends', () => {
    expect(exitMeaning(agent({ retiring: 'idle' }), exit({ signal: 'SIGTERM' }), T0)).toEqual({ healthy: true });
    expect(exitReason(agent({ retiring: 'idle' }), exit())).toBe('retired: idle');
  });

  it('one that did not connect in time, or ended before it connected, is a failed launch naming its stderr', () => {
    expect(exitMeaning(agent({ timedOut: 'agent a1 did not connect' }), exit(), T0).failed).toBe('agent a1 did not connect; its stderr: one | two');
    const m = exitMeaning(agent(), exit({ exitCode: 0, stderrTail: '' }), T0 + 250);
    expect(m.failed).toBe('agent a1 on h1 (pid 42) ended before it connected (exit code 0, 250 ms after launch); its stderr: (none)');
    expect(exitReason(agent(), exit())).toBe('ended before it connected');
  });

  it('a lost host connection is neither a failure nor healthy', () => {
    expect(exitMeaning(agent({ connectedAt: T0 }), exit({ lostConnection: true }), T0)).toEqual({ log: 'agent a1 lost with its connection to h1' });
  });

  it('a clean exit after connecting left on its own; a crash soon after connecting is a failed launch, a later one is not', () => {
    expect(exitMeaning(agent({ connectedAt: T0 }), exit({ exitCode: 0 }), T0 + 10)).toEqual({ healthy: true, leftOnItsOwn: true });
    const early = exitMeaning(agent({ connectedAt: T0 }), exit({ exitCode: 3 }), T0 + 100);
    expect(early).toEqual({ log: 'agent a1 (pid 42) ended: exit code 3', failed: 'agent a1 exited 100 ms after connecting with exit code 3: one | two' });
    expect(exitMeaning(agent({ connectedAt: T0 }), exit({ exitCode: 3 }), T0 + EARLY_EXIT_MS)).toEqual({ log: 'agent a1 (pid 42) ended: exit code 3', healthy: true });
    expect(exitMeaning(agent({ connectedAt: T0 }), exit({ exitCode: null, signal: 'SIGKILL' }), T0 + 100)).toEqual({ log: 'agent a1 (pid 42) ended: killed by SIGKILL', healthy: true });
    expect(exitReason(agent({ connectedAt: T0 }), exit())).toBe('crashed');
  });
});
