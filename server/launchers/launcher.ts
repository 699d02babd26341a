import type { AgentCredentials } from '../../agent/protocol/identity.js';
import type { AgentRuntime } from '../runtime/index.js';
import type { PruneResult } from '../runtime/prune.js';

/** How an agent process ended. */
export interface AgentExit {
  exitCode: number | null;
  signal: string | null;
  /** The last lines the agent wrote to stderr. */
  stderrTail: string;
  /** It ended because the connection to its host dropped: not a failed launch. */
  lostConnection?: boolean;
}

/** A launched agent, as its launcher tracks it. */
export interface AgentHandle {
  agentId: string;
  host: string;
  pid: number | undefined;
  /** The batch system's job id, with its array element (`12345_3`), for agents inside batch jobs. */
  batchJob?: string;
  /** Settles when the agent process is gone, however it ended. */
  exited: Promise<AgentExit>;
  /**
   * Settles once the agent's process runs, where that can come long after launch() (a SLURM job
   * waiting in the queue); absent, it runs already. The pool's `connectTimeout` counts from it.
   */
  started?: Promise<void>;
  /** The Node it runs, where the launcher chose it (SSH and SLURM pools). */
  runtime?: AgentRuntime;
  /** Ends the agent: politely, then by force after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts agents somewhere: child processes, SSH hosts, SLURM jobs. */
export interface Launcher {
  readonly kind: string;
  /** Starts one agent with these credentials (delivered out of band, never in argv). */
  launch(credentials: AgentCredentials): Promise<AgentHandle>;
  /** Releases what the launcher holds (connections, tunnels). */
  close(): Promise<void>;
  /** Per-host state, for launchers that have hosts. */
  status?(): unknown[];
  /** Whether it reaches `host` (an SSH host, a SLURM login node), for cache pruning. */
  hasHost?(host: string): boolean;
  /** Runtimes (sha256) its connected hosts' agents run. */
  runtimesInUse?(): string[];
  /** Removes bundles and runtimes from `host`'s cache but those in `keep` and those in use there. */
  pruneCache?(host: string, keep: string[]): Promise<PruneResult>;
}
