/**
 * What the page holds: the latest aggregates and bounded windows of the event lists, merged
 * from the controller's frames. A `full` frame replaces it all.
 */
import type { AgentView, FailureView, Frame, JobView, LaunchView, LogView, Span } from '../server/dashboard/view.js';
import type { PoolStatus } from '../contract/agent-types.js';
import type { FlowStatus } from '../contract/flow-types.js';

const WINDOW = { spans: 4000, failures: 50, launches: 200, logs: 400 };

export interface State {
  /** The controller's clock at the last frame (the task stream's "now"). */
  at: number;
  /** The page's clock when that frame arrived. */
  receivedAt: number;
  jobs: JobView[];
  flows: FlowStatus[];
  pools: PoolStatus[];
  agents: AgentView[];
  spans: Span[];
  failures: FailureView[];
  launches: LaunchView[];
  logs: LogView[];
  spansDropped: number;
}

export function emptyState(): State {
  return { at: 0, receivedAt: 0, jobs: [], flows: [], pools: [], agents: [], spans: [], failures: [], launches: [], logs: [], spansDropped: 0 };
}

const keep = <T>(held: T[], added: T[], max: number, full: boolean): T[] => {
  const all = full ? added : added.length === 0 ? held : held.concat(added);
  return all.length > max ? all.slice(all.length - max) : all;
};

export function merge(s: State, f: Frame): State {
  return {
    at: f.at,
    receivedAt: Date.now(),
    jobs: f.jobs ?? (f.full ? [] : s.jobs),
    flows: f.flows ?? (f.full ? [] : s.flows),
    pools: f.pools ?? (f.full ? [] : s.pools),
    agents: f.agents ?? (f.full ? [] : s.agents),
    spans: keep(s.spans, f.spans, WINDOW.spans, f.full),
    failures: keep(s.failures, f.failures, WINDOW.failures, f.full),
    launches: keep(s.launches, f.launches, WINDOW.launches, f.full),
    logs: keep(s.logs, f.logs, WINDOW.logs, f.full),
    spansDropped: (f.full ? 0 : s.spansDropped) + f.spansDropped,
  };
}
