/** The dashboard's view of a controller: its events, and the state a newly opened page starts from. */
import type { Controller } from '../controller.js';
import type { FlowStatus } from '../../contract/flow-types.js';
import type { DashboardSource } from './aggregator.js';

/** Flows finished this recently still show. */
const RECENT_FLOW_MS = 10 * 60_000;
const MAX_FLOWS = 10;

export function controllerSource(c: Controller): DashboardSource {
  return {
    events: c.events,
    jobs: () => [...c.scheduler.jobs.values()].map((j) => c.jobStatus(j)),
    agents: () => c.agents(),
    flows: () => {
      const now = Date.now();
      const shown: FlowStatus[] = [];
      for (const f of c.flows.list().reverse()) {
        if (shown.length >= MAX_FLOWS) break;
        // This controller's flows only (an embedded one's flow cache is shared with other programs).
        if (!f.jobId || !c.scheduler.jobs.has(f.jobId)) continue;
        if (f.state !== 'running' && (f.finishedAt === undefined || now - f.finishedAt > RECENT_FLOW_MS)) continue;
        try {
          shown.push(c.flows.status(f.id));
        } catch {
          // Gone between the listing and now.
        }
      }
      return shown.reverse();
    },
    logs: () => c.logs.read(),
  };
}
