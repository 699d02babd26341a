/**
 * Turns the control plane's events into what the dashboard shows: per-job counts with a rate and
 * an ETA, agents with their slots, a bounded window of finished tasks for the task stream, and
 * the latest failures, launches and log lines. Its memory is bounded whatever the job sizes: a
 * `tasks` batch is kept by reference (no object per task) and only the newest spans survive.
 * Gauges no event carries (an agent's memory and CPU now, pools, flows) are sampled once a second.
 */
import type { ControlEvent, ControlEvents, ControlEventStream, TaskBatch } from '../events.js';
import type { JobStatus } from '../job.js';
import type { LaneInfo } from '../lane.js';
import type { PoolStatus } from '../pool.js';
import type { FlowStatus } from '../../contract/flow-types.js';
import type { LogLine } from '../log-ring.js';
import { Ring } from './ring.js';
import { WINDOW } from './view.js';
import type { AgentView, FailureView, Frame, JobView, LaunchView, LogView, Span } from './view.js';

/** What the aggregator reads besides events: the state when it starts, and the gauges. */
export interface DashboardSource {
  readonly events: ControlEventStream;
  jobs(): JobStatus[];
  agents(): { pools: PoolStatus[]; lanes: LaneInfo[] };
  /** Agents launched and not gone, connected or not: where each runs. */
  launched(): Array<ControlEvents['agent.launched']>;
  /** Ids of the flows running when the dashboard opens (later ones arrive with their job). */
  runningFlows(): string[];
  /** One flow's progress per stage; undefined once it is gone. */
  flow(id: string): FlowStatus | undefined;
  logs(): LogLine[];
}

/** A rate is measured over this long. */
const RATE_WINDOW_MS = 10_000;
/** At most this many spans go in one frame; the rest of a burst is counted, not sent. */
const SPANS_PER_FRAME = 1000;
/** An exited agent stays on the page this long. */
const EXITED_KEEP_MS = 60_000;
/** A finished flow stays on the page this long. */
const FLOW_KEEP_MS = 10 * 60_000;

interface JobEntry {
  status: JobStatus;
  flow?: string;
  /** [time, finished tasks] once per sample, for the rate. */
  samples: Array<[number, number]>;
}

/** What a reader of the aggregator saw last, so its next frame holds only what is new. */
export interface Cursor {
  spans: number;
  failures: number;
  launches: number;
  logs: number;
  /** Versions of the aggregates last sent. */
  versions: [jobs: number, agents: number, pools: number, flows: number];
}

export class Aggregator {
  private readonly jobs = new Map<string, JobEntry>();
  private readonly agents = new Map<string, AgentView>();
  private pools: PoolStatus[] = [];
  private flows: FlowStatus[] = [];
  /** Flows shown: those running when the page opened and those whose job was submitted since. */
  private readonly flowIds = new Set<string>();
  /** Finished-task batches by reference, newest last, holding at least WINDOW.spans rows in all. */
  private readonly batches: Array<{ job: string; rows: TaskBatch['finished'] }> = [];
  private held = 0;
  private spansTotal = 0;
  private readonly failures = new Ring<FailureView>(WINDOW.failures);
  private readonly launches = new Ring<LaunchView>(WINDOW.launches);
  private readonly logs = new Ring<LogView>(WINDOW.logs);
  private version = { jobs: 0, agents: 0, pools: 0, flows: 0 };
  private readonly stop: () => void;

  constructor(private readonly source: DashboardSource) {
    this.stop = source.events.subscribe((e) => this.onEvent(e));
    for (const s of source.jobs()) this.jobs.set(s.id, { status: s, samples: [] });
    for (const id of source.runningFlows()) this.flowIds.add(id);
    const now = Date.now();
    for (const l of source.launched()) Object.assign(this.agent(l.agentId, l.pool, now), { host: l.host, pid: l.pid, batchJob: l.batchJob });
    for (const l of source.logs().slice(-WINDOW.logs)) this.logs.push({ at: l.at, agentId: l.agentId, line: l.line });
    this.sample();
  }

  close(): void {
    this.stop();
  }

  private onEvent(e: ControlEvent): void {
    const now = Date.now();
    switch (e.type) {
      case 'tasks':
        this.addSpans(e);
        for (const f of e.failures) this.failures.push({ at: now, job: e.job, index: f.index, attempt: f.attempt, error: f.error });
        return;
      case 'job.submitted':
        this.jobs.set(e.job, { status: { id: e.job, pool: e.pool, state: 'running', total: e.total, done: 0, failed: 0, running: 0, queued: e.total, createdAt: now, finishedAt: undefined }, flow: e.flow, samples: [] });
        if (e.flow !== undefined) this.flowIds.add(e.flow);
        this.version.jobs++;
        return;
      case 'job.progress':
      case 'job.finished': {
        const entry = this.jobs.get(e.job);
        if (entry) entry.status = e.status;
        else this.jobs.set(e.job, { status: e.status, samples: [] });
        if (e.type === 'job.finished') this.retireJobs();
        this.version.jobs++;
        return;
      }
      case 'lane.added': {
        const a = this.agent(e.lane.agentId, e.lane.pool, now);
        a.state = 'running';
        a.host = e.lane.host;
        a.pid = e.lane.pid;
        if (!a.slots.includes(e.lane.lane)) a.slots = [...a.slots, e.lane.lane].sort((x, y) => x - y);
        this.version.agents++;
        return;
      }
      case 'lane.removed': {
        const a = this.agents.get(e.agentId);
        if (a) a.slots = a.slots.filter((l) => l !== e.lane);
        this.version.agents++;
        return;
      }
      case 'agent.launched': {
        const a = this.agent(e.agentId, e.pool, now);
        Object.assign(a, { host: e.host ?? a.host, pid: e.pid ?? a.pid, batchJob: e.batchJob });
        const where = [e.host && `on ${e.host}`, e.pid !== undefined && `pid ${e.pid}`, e.batchJob && `batch job ${e.batchJob}`].filter(Boolean).join(', ');
        this.launches.push({ at: now, pool: e.pool, kind: 'launched', agentId: e.agentId, text: `launched ${e.agentId}${where ? ` ${where}` : ''}` });
        this.version.agents++;
        return;
      }
      case 'agent.exited': {
        const a = this.agent(e.agentId, e.pool, now);
        Object.assign(a, { state: 'exited', exitedAt: now, slots: [], busy: 0 });
        const how = e.signal ? `signal ${e.signal}` : `code ${e.code}`;
        const bad = e.code !== 0 || e.signal !== null;
        this.launches.push({ at: now, pool: e.pool, kind: 'exited', agentId: e.agentId, text: `${e.agentId} exited (${how})${e.reason ? `: ${e.reason}` : ''}`, bad, stderrTail: bad ? e.stderrTail : undefined });
        this.version.agents++;
        return;
      }
      case 'launch.failed': {
        const backoff = e.backoffMs ? `; next try in ${Math.round(e.backoffMs / 100) / 10} s` : '';
        this.launches.push({ at: now, pool: e.pool, kind: 'failed', bad: true, text: `launch failed (${e.inARow} in a row): ${e.reason}${backoff}` });
        return;
      }
      case 'pool.status':
        this.pools = [...this.pools.filter((p) => p.name !== e.pool.name), e.pool].sort((x, y) => x.name.localeCompare(y.name));
        this.version.pools++;
        return;
      case 'agent.log':
        this.logs.push({ at: now, agentId: e.agentId, line: e.line });
        return;
    }
  }

  private agent(id: string, pool: string, now: number): AgentView {
    let a = this.agents.get(id);
    if (!a) this.agents.set(id, (a = { id, pool, state: 'starting', slots: [], busy: 0, launchedAt: now, completed: 0 }));
    return a;
  }

  /** Keeps the batch by reference; drops the oldest batches the window no longer needs. */
  private addSpans(e: TaskBatch): void {
    // Entries the emitter left out of a bounded batch count as dropped spans.
    this.spansTotal += (e as TaskBatch & { omitted?: number }).omitted ?? 0;
    if (e.finished.length === 0) return;
    this.batches.push({ job: e.job, rows: e.finished });
    this.held += e.finished.length;
    this.spansTotal += e.finished.length;
    while (this.batches.length > 1 && this.held - this.batches[0]!.rows.length >= WINDOW.spans) this.held -= this.batches.shift()!.rows.length;
  }

  /** The newest `n` spans held, oldest first. */
  private newestSpans(n: number): Span[] {
    const out: Span[] = [];
    for (let b = this.batches.length - 1; b >= 0 && out.length < n; b--) {
      const { job, rows } = this.batches[b]!;
      for (let i = rows.length - 1; i >= 0 && out.length < n; i--) {
        const [, , agentId, lane, start, end, ok] = rows[i]!;
        out.push([job, `${agentId}/${lane}`, start, end, ok ? 1 : 0]);
      }
    }
    return out.reverse();
  }

  /** Keeps every unfinished job and the newest finished ones. */
  private retireJobs(): void {
    const finished = [...this.jobs.values()].filter((j) => j.status.finishedAt !== undefined).sort((a, b) => a.status.finishedAt! - b.status.finishedAt!);
    for (const j of finished.slice(0, Math.max(0, finished.length - WINDOW.finishedJobs))) this.jobs.delete(j.status.id);
  }

  /** Reads the gauges (agents' memory, CPU and busy slots; pools; flows) and the jobs' rates. */
  sample(now = Date.now()): void {
    const { pools, lanes } = this.source.agents();
    this.pools = pools;
    this.version.pools++;
    const byAgent = new Map<string, LaneInfo[]>();
    for (const l of lanes) byAgent.set(l.agentId, [...(byAgent.get(l.agentId) ?? []), l]);
    for (const [id, ls] of byAgent) {
      const a = this.agent(id, ls[0]!.pool, now);
      const cpu = ls.map((l) => l.cpu).filter((c): c is number => c !== undefined);
      Object.assign(a, {
        state: 'running',
        host: ls[0]!.host,
        pid: ls[0]!.pid,
        slots: ls.map((l) => l.lane).sort((x, y) => x - y),
        busy: ls.filter((l) => l.inFlight > 0).length,
        completed: ls.reduce((n, l) => n + l.completed, 0),
        // Lanes of one agent share its process: its memory and CPU are the process's.
        rssBytes: Math.max(0, ...ls.map((l) => l.rssBytes ?? 0)) || undefined,
        cpu: cpu.length ? Math.max(...cpu) : undefined,
      });
    }
    for (const [id, a] of this.agents) {
      if (a.state === 'running' && !byAgent.has(id)) Object.assign(a, { slots: [], busy: 0 });
      if (a.state === 'exited' && now - a.exitedAt! > EXITED_KEEP_MS) this.agents.delete(id);
    }
    this.version.agents++;
    for (const j of this.jobs.values()) {
      if (j.status.finishedAt !== undefined && j.samples.length === 0) continue;
      j.samples.push([now, j.status.done + j.status.failed]);
      while (j.samples.length > 2 && now - j.samples[0]![0] > RATE_WINDOW_MS) j.samples.shift();
      if (j.status.finishedAt !== undefined) j.samples = [];
      this.version.jobs++;
    }
    if (this.flowIds.size === 0 && this.flows.length === 0) return;
    const flows: FlowStatus[] = [];
    for (const id of this.flowIds) {
      const f = this.source.flow(id);
      // Finished a while ago, or gone: no longer shown.
      if (!f || (f.finishedAt !== undefined && now - f.finishedAt > FLOW_KEEP_MS)) this.flowIds.delete(id);
      else flows.push(f);
    }
    this.flows = flows;
    this.version.flows++;
  }

  private jobView(j: JobEntry): JobView {
    const s = j.status;
    const first = j.samples[0], last = j.samples[j.samples.length - 1];
    const rate = first && last && last[0] > first[0] ? ((last[1] - first[1]) * 1000) / (last[0] - first[0]) : 0;
    const left = s.total - s.done - s.failed;
    return { ...s, flow: j.flow, rate, etaSec: s.finishedAt !== undefined ? 0 : rate > 0 ? left / rate : undefined };
  }

  /** A reader that has seen nothing yet. */
  static cursor(): Cursor {
    return { spans: 0, failures: 0, launches: 0, logs: 0, versions: [-1, -1, -1, -1] };
  }

  /** The next frame for a reader at `cursor` (everything held when `full`); moves the cursor on. */
  frame(cursor: Cursor, full = false): Frame {
    const v = this.version;
    const changed = (i: 0 | 1 | 2 | 3, now: number) => full || cursor.versions[i] !== now;
    const newSpans = full ? this.held : this.spansTotal - cursor.spans;
    const spans = this.newestSpans(Math.min(newSpans, full ? WINDOW.spans : SPANS_PER_FRAME));
    const frame: Frame = {
      full,
      at: Date.now(),
      jobs: changed(0, v.jobs) ? [...this.jobs.values()].map((j) => this.jobView(j)) : undefined,
      agents: changed(1, v.agents) ? [...this.agents.values()].map((a) => ({ ...a })) : undefined,
      pools: changed(2, v.pools) ? this.pools : undefined,
      flows: changed(3, v.flows) ? this.flows : undefined,
      spans,
      spansDropped: Math.max(0, newSpans - spans.length),
      failures: full ? this.failures.all() : this.failures.since(cursor.failures),
      launches: full ? this.launches.all() : this.launches.since(cursor.launches),
      logs: full ? this.logs.all() : this.logs.since(cursor.logs),
    };
    Object.assign(cursor, { spans: this.spansTotal, failures: this.failures.total, launches: this.launches.total, logs: this.logs.total, versions: [v.jobs, v.agents, v.pools, v.flows] });
    return frame;
  }
}
