/** The dashboard's view of a controller: its events, and the state a newly opened page starts from. */
import type { Controller } from '../controller.js';
import type { DashboardSource } from './aggregator.js';

export function controllerSource(c: Controller): DashboardSource {
  return {
    events: c.events,
    jobs: () => [...c.scheduler.jobs.values()].map((j) => c.jobStatus(j)),
    agents: () => c.agents(),
    launched: () => [...c.pools.values()].flatMap((p) => [...p.handles.values()].map((h) => ({ pool: p.name, agentId: h.agentId, host: h.host, pid: h.pid, batchJob: h.batchJob }))),
    // This controller's running flows only (an embedded one's flow cache is shared with other programs).
    runningFlows: () => c.flows.list().flatMap((f) => (f.state === 'running' && f.jobId && c.scheduler.jobs.has(f.jobId) ? [f.id] : [])),
    flow: (id) => {
      try {
        return c.flows.status(id);
      } catch {
        return undefined; // gone
      }
    },
    logs: () => c.logs.read(),
  };
}
