/**
 * One agent of a pool, from its launch to its exit: its record, what its lanes say about it
 * (tasks run, idle since when), and what its exit means for the pool (a failed launch, a
 * healthy end, or neither).
 */
import type { AgentExit, AgentHandle } from './launchers/launcher.js';
import type { Lane } from './lane.js';
import { retireAt } from './autoscaler.js';

/** An agent that exits this soon after connecting, other than cleanly, counts as a failed launch; one connected longer proves the pool healthy. */
export const EARLY_EXIT_MS = 5_000;

/** One agent of the pool, from its launch to its exit. */
export interface Agent {
  id: string;
  /** Launch order in the pool: spreads the ends of agents' lives. */
  serial: number;
  launchedAt: number;
  /** Undefined while the launch is in flight. */
  handle: AgentHandle | undefined;
  /** When its process started running (launch done; SLURM: job seen running), for `connectTimeout`. */
  startedAt: number | undefined;
  /** Why it is being stopped for not connecting in time; its exit then counts as a failed launch. */
  timedOut: string | undefined;
  /** When its first lane connected: its life (and a SLURM job's clock) began about then. */
  connectedAt: number | undefined;
  /** When it should stop taking work, for a pool with a walltime. */
  endOfLife: number | undefined;
  /** Why it is retiring, once it is. */
  retiring: string | undefined;
  stopping: boolean;
  /** Its lanes as last seen; one that has gone leaves its count in `pastTasks`. */
  lanes: Set<Lane>;
  pastTasks: number;
}

/** A new agent's record, as its launch begins. */
export function newAgent(id: string, serial: number): Agent {
  return { id, serial, launchedAt: Date.now(), handle: undefined, startedAt: undefined, timedOut: undefined, connectedAt: undefined, endOfLife: undefined, retiring: undefined, stopping: false, lanes: new Set(), pastTasks: 0 };
}

/** The last lines an agent wrote to stderr, on one line. */
export function tailOf(exit: AgentExit): string {
  return exit.stderrTail.trim().split('\n').slice(-5).join(' | ');
}

/** Tasks an agent has run or holds, over all its connections. */
export function tasksOf(a: Agent): number {
  let n = a.pastTasks;
  for (const l of a.lanes) n += l.completed + l.runs.size;
  return n;
}

/**
 * Since when every slot of an agent has been empty; undefined while any holds a run. One not
 * connected (yet, or again) counts as idle since its launch only while no task waits: a queued
 * SLURM job nobody needs any more is cancelled, one that tasks wait for is not.
 */
export function idleSince(a: Agent, backlog: number): number | undefined {
  if (a.lanes.size === 0) return backlog === 0 ? a.launchedAt : undefined;
  let since = 0;
  for (const l of a.lanes) {
    if (l.runs.size > 0 || l.draining.size > 0) return undefined;
    since = Math.max(since, l.idleSince);
  }
  return since;
}

/**
 * Matches a pool's connected lanes to its agents: a lane gone leaves its count in `pastTasks`; a
 * first connection sets when the agent's life began (and, with a walltime, when it should end).
 * Returns the most lanes seen on one agent.
 */
export function noteLanes(agents: ReadonlyMap<string, Agent>, lanes: ReadonlySet<Lane>, pool: string, now: number, walltimeMs: number | undefined): number {
  let slotsSeen = 0;
  const byAgent = new Map<string, Lane[]>();
  for (const lane of lanes) {
    if (lane.pool !== pool || !agents.has(lane.agentId)) continue;
    const list = byAgent.get(lane.agentId);
    if (list) list.push(lane);
    else byAgent.set(lane.agentId, [lane]);
  }
  for (const a of agents.values()) {
    for (const l of a.lanes) {
      if (lanes.has(l)) continue;
      a.pastTasks += l.completed;
      a.lanes.delete(l);
    }
    for (const l of byAgent.get(a.id) ?? []) a.lanes.add(l);
    slotsSeen = Math.max(slotsSeen, a.lanes.size);
    if (a.connectedAt === undefined && a.lanes.size > 0) {
      a.connectedAt = Math.min(now, ...[...a.lanes].map((l) => l.connectedAt));
      if (walltimeMs !== undefined) a.endOfLife = retireAt(a.connectedAt, walltimeMs, a.serial);
    }
  }
  return slotsSeen;
}

/** What an agent's exit (not while its pool closes) means for its pool. */
export interface ExitMeaning {
  /** A line for the pool's log. */
  log?: string;
  /** The launch failed, with why: it counts towards the pool giving up. */
  failed?: string;
  /** The pool's launches work: its count of failures in a row starts again. */
  healthy?: boolean;
  /** It left on its own, cleanly: with no unfinished job, `min` waits for the next one. */
  leftOnItsOwn?: boolean;
}

/** What an agent's exit means for its pool, at `now`. */
export function exitMeaning(a: Agent, exit: AgentExit, now: number): ExitMeaning {
  // Stopped by the pool (SIGTERM, stdin closed or scancel): however it reports that, it is no failure.
  if (a.retiring) return { healthy: true };
  const handle = a.handle!;
  if (a.timedOut) return { failed: `${a.timedOut}; its stderr: ${tailOf(exit) || '(none)'}` };
  // Its host's connection dropped: not a failed launch. It is started again (the launcher
  // re-opens the connection, with backoff).
  if (exit.lostConnection) return { log: `agent ${handle.agentId} lost with its connection to ${handle.host}` };
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
  if (a.connectedAt === undefined) {
    // Never connected, however it ended (a clean exit included: the agent gives up on a
    // controller it cannot reach): the launch failed, and relaunching blindly would loop.
    return { failed: `agent ${handle.agentId} on ${handle.host}${handle.pid === undefined ? '' : ` (pid ${handle.pid})`} ended before it connected (${how}, ${now - a.launchedAt} ms after launch); its stderr: ${tailOf(exit) || '(none)'}` };
  }
  // It left on its own: idle past its own timeout, or told to stop (SIGTERM) mid-job.
  if (exit.exitCode === 0) return { healthy: true, leftOnItsOwn: true };
  const log = `agent ${handle.agentId} (pid ${handle.pid}) ended: ${how}`;
  const connectedMs = now - a.connectedAt;
  if (connectedMs < EARLY_EXIT_MS && !exit.signal) return { log, failed: `agent ${handle.agentId} exited ${connectedMs} ms after connecting with ${how}: ${tailOf(exit)}` };
  return { log, healthy: true };
}

/** Why an agent ended, in a word or two, for the event stream. */
export function exitReason(a: Agent, exit: AgentExit): string {
  if (a.retiring) return `retired: ${a.retiring}`;
  if (a.timedOut) return 'did not connect in time';
  if (exit.lostConnection) return 'lost with its host connection';
  if (a.connectedAt === undefined) return 'ended before it connected';
  return exit.exitCode === 0 ? 'left on its own' : 'crashed';
}
