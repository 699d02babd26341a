/**
 * Local agents started ahead of an embedded controller. Most of a short embedded run is its
 * agents' start (node's own boot, then the agent bundle's), and an agent can boot before its
 * credentials exist: it waits for them on stdin. So `connect()` without a url starts the agents
 * its local pools will launch first, before the controller's code is even loaded; a local
 * launcher whose agents would be started the same way (node binary, environment) adopts a spare
 * instead of spawning. Spares not adopted once the pools made their first launches are killed.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import type { LocalPoolOptions } from '../../../contract/pool-options.js';
import { counts, DEFAULT_MAX_LAUNCHING } from '../plan-parts.js';
import { localAgentEnv, startAgentProcess, unrefAgent } from './agent-process.js';

interface Spare {
  /** The running process, once it started. */
  child: ChildProcess | undefined;
  /** The environment it was started with, as JSON: adopted only by a launcher that would use the same. */
  env: string;
  /** Settles once it runs (with it) or could not start (undefined). */
  started: Promise<ChildProcess | undefined>;
}

const spares: Spare[] = [];

/**
 * How many agents `pools` (a `connect()` option, not yet checked) launch at once when they start,
 * among local pools without their own node binary or environment. Anything malformed counts 0:
 * the controller's checks will say what is wrong.
 */
export function initialLocalAgents(pools: unknown): number {
  if (pools !== undefined && (pools === null || typeof pools !== 'object')) return 0;
  let n = 0;
  for (const v of Object.values(pools ?? { local: { launcher: 'local' } })) {
    const p = v as Partial<LocalPoolOptions> | null;
    if (p === null || typeof p !== 'object' || p.launcher !== 'local' || p.node !== undefined || p.env !== undefined) continue;
    try {
      const { min } = counts((k) => k, p, p.agents, availableParallelism());
      n += Math.min(min, typeof p.maxLaunching === 'number' ? p.maxLaunching : DEFAULT_MAX_LAUNCHING);
    } catch {
      // a bad count: the pool will not start
    }
  }
  return Math.min(n, DEFAULT_MAX_LAUNCHING);
}

/**
 * Starts `n` agents ahead of the controller that will adopt them (or drop them). Resolves with the
 * pids of those that started; one that cannot start is left to the launcher, which will say why.
 */
export function startSpares(n: number): Promise<number[]> {
  const env = localAgentEnv(undefined);
  const started: Promise<number | undefined>[] = [];
  for (let i = 0; i < n; i++) {
    const spare: Spare = { child: undefined, env: JSON.stringify(env), started: undefined! };
    // An async start: a missing bundle is the launcher's to report, as a failed launch.
    spare.started = (async () => startAgentProcess(undefined, env))().then(
      (child) => {
        unrefAgent(child);
        child.stdin!.on('error', () => {}); // killed unadopted: nothing to report
        spare.child = child;
        if (!spares.includes(spare)) child.kill('SIGKILL'); // dropped while it started
        return child;
      },
      () => undefined,
    );
    spares.push(spare);
    started.push(spare.started.then((c) => c?.pid));
  }
  return Promise.all(started).then((pids) => pids.filter((p): p is number => p !== undefined));
}

/**
 * A running spare started with exactly `env`, now the caller's (the local launcher's), or
 * undefined. One that already exited is dropped: the launcher starts a fresh one.
 */
export function takeSpare(env: Record<string, string>): ChildProcess | undefined {
  const key = JSON.stringify(env);
  for (let i = 0; i < spares.length; i++) {
    const { child, env: e } = spares[i]!;
    if (!child || e !== key) continue;
    spares.splice(i--, 1);
    if (child.exitCode === null && child.signalCode === null) return child;
  }
  return undefined;
}

/** Kills the spares nobody adopted, and those still starting; resolves once they are gone. */
export async function dropSpares(): Promise<void> {
  await Promise.all(
    spares.splice(0).map(async (s) => {
      const child = await s.started;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGKILL');
      await gone;
    }),
  );
}
