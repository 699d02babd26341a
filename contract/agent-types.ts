/**
 * What the API says about agents, lanes and pools: the declarations the controller implements
 * and the client reads.
 */
import type { TaskResult } from './job-types.js';

/** Which Node an agent runs, as `fl.agents()` reports it. */
export interface AgentRuntime {
  /** `host`: the host's own Node; `provided`: one flotilla put in the host's cache. */
  source: 'host' | 'provided';
  /** The node binary on the host (`~/...` for a provided one). */
  path: string;
  /** What `node -v` says there. */
  version: string;
  /** A provided runtime's origin: the controller's own node, an npm package, or the user's file. */
  origin?: string;
  /** A provided runtime's content hash, its folder name in the host's cache. */
  sha256?: string;
}

/** Where a missing or too old Node comes from: `'auto'`, `'host'`, or a path to a Node binary or official tarball. */
export type RuntimeOption = 'auto' | 'host' | (string & {});

/** What `agents.list` reports for a lane. */
export interface LaneInfo {
  agentId: string;
  lane: number;
  pool: string;
  host: string;
  pid: number;
  node: string;
  platform: string;
  connectedAt: number;
  inFlight: number;
  completed: number;
  rssBytes: number | undefined;
  /** Cores its agent kept busy between its last two heartbeats (CPU seconds per second), where it says. */
  cpu?: number;
  /** Module artifacts sent on this lane's connection (an agent is sent each one once, on one lane). */
  artifactTransfers: number;
  /** Which Node the agent runs on an SSH or SLURM host: the host's own, or one flotilla provided. */
  runtime?: AgentRuntime;
}

/** What `pools.list` reports for a pool. */
export interface PoolStatus {
  name: string;
  launcher: string;
  /** Agents alive: starting, running or retiring. */
  agents: number;
  min: number;
  max: number;
  /** Agents connected and taking work. */
  running: number;
  /** Agents launched and not connected yet (SLURM: also jobs waiting in the queue). */
  starting: number;
  /** Agents finishing their runs before they are stopped; they take no new work. */
  retiring: number;
  failure: string | undefined;
  /** Per host, for launchers that have hosts. */
  hosts?: unknown[];
}

/** Where one `everywhere` task ran: also the item its function is given. */
export interface LaneWhere {
  agentId: string;
  host: string;
  lane: number;
}

/** One lane's result as the controller sends it (the value still encoded). */
export type EverywhereResult = LaneWhere & { result: TaskResult };


/** What a prune removed and kept on one host. */
export interface PruneResult {
  host: string;
  /** Paths relative to the home folder, with their sizes. */
  removed: { path: string; bytes: number }[];
  kept: string[];
}
