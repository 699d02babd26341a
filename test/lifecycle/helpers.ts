/**
 * Shared pieces of the lifecycle suite: real agent and controller processes, waits that end on
 * events (or poll with a short deadline when the event is another process ending), and the
 * reaper (test/support/reaper.ts) that leaves nothing running after a test.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { connect } from '../../client/index.js';
import { deferred, within } from '../support/async.js';
import type { Deferred } from '../support/async.js';
import { ROOT, startProcess } from '../support/process.js';
import type { Proc } from '../support/process.js';
import type { Reaper } from '../support/reaper.js';

export { deferred, within };
export type { Deferred };
// The suite's tests (and faults/, durable/, flows/...) import these from here.
export { isGone, Reaper, tempDir, waitGone } from '../support/reaper.js';
export { ROOT, startProcess } from '../support/process.js';
export type { Ended, Proc } from '../support/process.js';

export const AGENT_BUNDLE = join(ROOT, 'dist', 'agent.mjs');
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Runs a TypeScript fixture (test/lifecycle/fixtures/NAME) as its own node process, no wrapper. */
export function startFixture(reaper: Reaper, name: string, args: string[] = [], env?: NodeJS.ProcessEnv): Proc {
  return startProcess(reaper, process.execPath, ['--import', 'tsx', join(FIXTURES, name), ...args], env);
}

/**
 * Starts the agent bundle. With `stdinLine` the credentials go in on stdin, which then stays
 * open (the lifeline) until the test closes it or ends.
 */
export function startAgent(reaper: Reaper, opts: { args?: string[]; stdinLine?: string } = {}): Proc {
  const p = startProcess(reaper, process.execPath, [AGENT_BUNDLE, ...(opts.args ?? [])]);
  if (opts.stdinLine !== undefined) p.child.stdin.write(opts.stdinLine);
  return p;
}


/**
 * An embedded session with one agent of one slot, its pid reaped after the test, its
 * controller's log lines kept, and a spy that counts launches from now on.
 */
export async function oneAgentSession(reaper: Reaper) {
  const logs: string[] = [];
  const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1 } }, waitForAgents: 1, controller: { log: (l) => logs.push(l) } });
  reaper.add(() => fl.close());
  const controller = fl.controller!;
  const pool = controller.pools.get('local')!;
  const pid = [...pool.handles.values()][0]!.pid!;
  reaper.pid(pid);
  const launch = vi.spyOn(pool.launcher, 'launch');
  return { fl, controller, pool, pid, launch, logs };
}
