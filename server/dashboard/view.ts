/**
 * What the dashboard's WebSocket sends the page: frames of aggregates (jobs, flows, pools,
 * agents) and of the events that arrived since the last frame, each list bounded. The page
 * keeps windows of the event lists; a `full` frame replaces everything it holds.
 */
import type { ErrorInfo } from '../../contract/errors.js';
import type { JobStatus } from '../job.js';
import type { PoolStatus } from '../pool.js';
import type { FlowStatus } from '../../contract/flow-types.js';

/** One job as the dashboard shows it. */
export interface JobView extends JobStatus {
  flow?: string;
  /** Tasks finished per second over the last few seconds. */
  rate: number;
  /** Seconds until every task is finished at that rate; undefined when unknown. */
  etaSec: number | undefined;
}

/** One agent of a pool, from its launch to its exit. */
export interface AgentView {
  id: string;
  pool: string;
  state: 'starting' | 'running' | 'exited';
  host?: string;
  pid?: number;
  /** The batch system's job id, `12345` or `12345_3` for an array element. */
  batchJob?: string;
  /** Connected task slots, by lane number, and how many hold a task. */
  slots: number[];
  busy: number;
  /** Resident memory now (bytes), from its heartbeats. */
  rssBytes?: number;
  /** Cores busy now (CPU seconds per second), from its heartbeats. */
  cpu?: number;
  launchedAt: number;
  exitedAt?: number;
  completed: number;
}

/** One finished task on the task stream: job, slot (`agentId/lane`), started and finished (ms), ok. */
export type Span = [job: string, slot: string, start: number, end: number, ok: 0 | 1];

export interface FailureView {
  at: number;
  job: string;
  index: number;
  attempt: number;
  error: ErrorInfo;
}

export interface LaunchView {
  at: number;
  pool: string;
  kind: 'launched' | 'exited' | 'failed';
  agentId?: string;
  text: string;
  /** An exit that was not asked for, or a failed launch. */
  bad?: boolean;
  stderrTail?: string;
}

export interface LogView {
  at: number;
  agentId: string;
  line: string;
}

/** One message to the page. Lists of aggregates are absent when unchanged since the last frame. */
export interface Frame {
  /** Replaces what the page holds (first frame, or after the page fell behind). */
  full: boolean;
  at: number;
  jobs?: JobView[];
  flows?: FlowStatus[];
  pools?: PoolStatus[];
  agents?: AgentView[];
  spans: Span[];
  failures: FailureView[];
  launches: LaunchView[];
  logs: LogView[];
  /** Spans left out of this frame to keep it bounded (the stream shows the newest). */
  spansDropped: number;
}

/** How many of each the page keeps, and a full frame carries. */
export const WINDOW = { spans: 4000, failures: 50, launches: 200, logs: 400, finishedJobs: 30 } as const;
