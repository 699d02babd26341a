/**
 * Agents as child processes of the controller. Credentials go in on stdin, which then stays open
 * as a lifeline: if the controller dies, the pipe closes and the agent exits (it also watches
 * for being re-parented). stop() sends SIGTERM, then SIGKILL after a grace period. An agent that
 * cannot start (no descriptors left, no node binary) is a failed launch with its reason.
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { AgentExit, AgentHandle, Launcher } from '../launcher.js';
import { StderrTail } from '../stderr-tail.js';
import { localAgentEnv, startAgentProcess, unrefAgent } from './agent-process.js';
import { takeSpare } from './spares.js';


export interface LocalLauncherOptions {
  /** Node binary to run agents with. @default process.execPath */
  node?: string;
  /** Environment for agents beyond the allow-list of agent-env.ts. */
  env?: Record<string, string>;
  /** Let the controller's process exit while agents run (embedded use); they follow it out. */
  unref?: boolean;
  /** Where agent stderr lines go, besides the tail kept for errors. */
  onLog?: (agentId: string, line: string) => void;
}

export class LocalLauncher implements Launcher {
  readonly kind = 'local';
  private readonly children = new Map<ChildProcess, Promise<AgentExit>>();

  constructor(private readonly opts: LocalLauncherOptions = {}) {}

  async launch(credentials: AgentCredentials): Promise<AgentHandle> {
    const env = localAgentEnv(this.opts.env);
    // An embedded controller's agents may have started already, ahead of it (spares.ts).
    const spare = this.opts.unref && this.opts.node === undefined ? takeSpare(env) : undefined;
    const child = spare ?? (await startAgentProcess(this.opts.node, env));
    const stdin = child.stdin!, stderr = child.stderr!;
    stdin.on('error', () => {}); // the agent may die before reading: its exit says why
    stdin.write(JSON.stringify(credentials) + '\n');
    const onLog = this.opts.onLog;
    const tail = new StderrTail(onLog && ((line) => onLog(credentials.agentId, line)));
    stderr.setEncoding('utf8');
    stderr.on('data', (chunk: string) => tail.push(chunk));
    stderr.once('end', () => tail.end());
    if (this.opts.unref) unrefAgent(child);
    const exited: Promise<AgentExit> = (async () => {
      const [exitCode, signal] = (child.exitCode !== null || child.signalCode !== null ? [child.exitCode, child.signalCode] : await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      // The last lines may still be in the pipe (or held open by a grandchild): wait a little.
      if (!stderr.readableEnded) await Promise.race([once(stderr, 'end').catch(() => {}), new Promise((r) => setTimeout(r, 500).unref())]);
      this.children.delete(child);
      return { exitCode, signal: signal ?? null, stderrTail: tail.tail };
    })();
    this.children.set(child, exited);
    const stop = async (graceMs = 2000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    };
    return { agentId: credentials.agentId, host: hostname(), pid: child.pid, exited, stop };
  }

  async close(): Promise<void> {
    for (const c of this.children.keys()) c.kill('SIGKILL');
    await Promise.allSettled([...this.children.values()]);
  }

  /** Kills every agent at once, synchronously: for process exit, where nothing async runs. */
  killAllSync(): void {
    for (const c of this.children.keys()) c.kill('SIGKILL');
  }
}
