/** How a local agent process is started: by the local launcher, and ahead of it as a spare (spares.ts). */
import type { ChildProcess } from 'node:child_process';
import { startChild } from '../spawn.js';
import { agentBundlePath } from '../../bundle.js';
import { agentEnvironment } from '../agent-env.js';

/** The environment of a local agent of a pool with `env`: the allow-list, never the controller's whole environment. */
export function localAgentEnv(env: Record<string, string> | undefined): Record<string, string> {
  // Not the controller's whole environment: its secrets would be readable by every task.
  return { ...agentEnvironment(env), FLOTILLA_AGENT: '1' };
}

/**
 * Starts `node agent.mjs --watch-parent`: it waits for its credentials on stdin (which then stays
 * open as its lifeline) and tells its stderr. Rejects LAUNCH_FAILED if it cannot start.
 */
export function startAgentProcess(node: string | undefined, env: Record<string, string>): Promise<ChildProcess> {
  return startChild(node ?? process.execPath, [agentBundlePath(), '--watch-parent'], { stdio: ['pipe', 'ignore', 'pipe'], env });
}

/** Lets this process exit while `child` runs (embedded use): the agent follows it out by its lifeline. */
export function unrefAgent(child: ChildProcess): void {
  child.unref();
  for (const s of [child.stdin, child.stderr] as unknown as ({ unref?: () => void } | null)[]) s?.unref?.();
}
