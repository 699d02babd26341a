/**
 * The first lane's thread starts while the agent waits for its credentials (agent/early-lane.ts),
 * so its start overlaps whatever delays them (an embedded controller loading its code). That
 * thread becomes a working lane once they come, with the lane's environment; and an agent whose
 * credentials never come still exits with the same message, leaving no process (nor thread).
 */
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { connect } from '../../client/index.js';
import { Controller } from '../../server/controller.js';
import { EarlyLane } from '../../agent/early-lane.js';
import { createLaneStatus } from '../../agent/lane-state.js';
import { AGENT_BUNDLE, Reaper, startAgent, startProcess, waitGone, within } from './helpers.js';

describe('a lane thread started before the credentials', () => {
  it('becomes a lane of the controller that issued the credentials sent to it afterwards', async () => {
    const reaper = new Reaper();
    try {
      const logs: string[] = [];
      const early = new EarlyLane(AGENT_BUNDLE, (l) => logs.push(l));
      // Credentials made only now, after the thread started: as for an agent started ahead of its controller.
      const c = await Controller.start({ embedded: true, requireToken: false, log: () => {} });
      reaper.add(() => c.close());
      const creds = c.registry.issue('external', c.localAgentUrl, { slots: 1 });
      const w = early.take({ data: { lane: 0, status: createLaneStatus(1), credentials: JSON.stringify(creds) }, env: { ...process.env, FLOTILLA_CORES: '1' } });
      expect(w).toBeInstanceOf(Worker);
      reaper.add(async () => void (await w!.terminate()));
      expect(early.take({ data: { lane: 1, status: createLaneStatus(1), credentials: '' }, env: {} })).toBeUndefined(); // taken once
      await c.waitForLanes(1, { timeoutMs: 30_000 });
      const [lane] = [...c.scheduler.lanes];
      expect(lane!.hello.thread).toBe(early.threadId);
      expect(lane!.hello.pid).toBe(process.pid);
      expect(logs).toEqual([]);
    } finally {
      await reaper.run();
    }
  });

  it("an early-started agent's lane runs tasks with its slot's environment (cores)", async () => {
    // The embedded session's agents are started ahead of its controller, each with a thread waiting.
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1, cores: 3 } }, waitForAgents: 1 });
    try {
      const out = await fl.map([0], () => [process.env.OMP_NUM_THREADS, process.env.FLOTILLA_CORES]);
      expect(out).toEqual([['3', '3']]);
    } finally {
      await fl.close();
    }
  });
});

/**
 * Run before the bundle: reports (JSON lines on stdout) the builtins the agent's main thread had
 * loaded when it started its first thread, and again as it exits. Each list is taken before
 * stdout is touched (a piped stdout loads `net`).
 */
const REPORT_LOADED = `data:text/javascript,${encodeURIComponent(`
import wt from 'node:worker_threads';
import { syncBuiltinESMExports } from 'node:module';
const loaded = () => process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
const Real = wt.Worker;
let told = false;
wt.Worker = class extends Real {
  constructor(...args) {
    if (!told) {
      told = true;
      const list = loaded();
      process.stdout.write(JSON.stringify(list) + '\\n');
    }
    super(...args);
  }
};
syncBuiltinESMExports();
process.on('exit', () => {
  const list = loaded();
  process.stdout.write(JSON.stringify(list) + '\\n');
});
`)}`;

describe('the first lane thread of an agent', () => {
  it('starts before the agent loads crypto or net (their load would delay it), and OpenSSL starts while it boots', async () => {
    const reaper = new Reaper();
    try {
      const agent = startProcess(reaper, process.execPath, ['--import', REPORT_LOADED, AGENT_BUNDLE]);
      const atThread = (await within(agent.nextJson(), 15_000, 'the agent starting its first thread')) as string[];
      expect(atThread).toContain('worker_threads'); // the list is real
      expect(atThread).not.toContain('crypto');
      expect(atThread).not.toContain('net');
      // Credentials it cannot read: it exits before any use of crypto of its own (a dial, a key).
      agent.child.stdin.end('not credentials\n');
      const atExit = (await within(agent.nextJson(), 15_000, 'the agent exiting')) as string[];
      expect(atExit).toContain('crypto');
      const ended = await within(agent.exited, 15_000, 'agent given bad credentials');
      expect(ended.code).toBe(2);
      expect(agent.stderr()).toMatch(/cannot start: credentials are not JSON/);
    } finally {
      await reaper.run();
    }
  });
});

describe('an agent whose credentials never come', () => {
  it('exits with "stdin closed before credentials were read" and leaves no process', async () => {
    const reaper = new Reaper();
    try {
      const agent = startAgent(reaper);
      agent.child.stdin.end();
      const ended = await within(agent.exited, 15_000, 'agent whose stdin closed without credentials');
      expect(ended.code).toBe(2);
      expect(agent.stderr()).toMatch(/cannot start: stdin closed before credentials were read/);
      await waitGone([agent.child.pid!], 5_000, 'agent without credentials');
    } finally {
      await reaper.run();
    }
  });

  it('exits after its wait for them, its waiting lane thread with it, with the same message as before', async () => {
    const reaper = new Reaper();
    try {
      const agent = startAgent(reaper); // stdin open, nothing written: the agent waits its 30 s
      const ended = await within(agent.exited, 60_000, 'agent still waiting for credentials after 60 s');
      expect(ended.code).toBe(2);
      expect(agent.stderr()).toMatch(/cannot start: no credentials on stdin within 30000 ms/);
      expect(agent.stderr()).not.toMatch(/lane/); // its thread ended with it, silently
      await waitGone([agent.child.pid!], 5_000, 'agent without credentials');
    } finally {
      await reaper.run();
    }
  }, 90_000);
});
