import { describe, expect, it } from 'vitest';
import { ControlEventStream } from '../../server/events.js';
import { Aggregator } from '../../server/dashboard/aggregator.js';
import type { DashboardSource } from '../../server/dashboard/aggregator.js';
import { WINDOW } from '../../server/dashboard/view.js';
import type { LaneInfo } from '../../server/lane.js';
import type { JobStatus } from '../../server/job.js';

function source(lanes: LaneInfo[] = []): DashboardSource & { events: ControlEventStream } {
  return { events: new ControlEventStream(), jobs: () => [], agents: () => ({ pools: [], lanes }), launched: () => [], runningFlows: () => [], flow: () => undefined, logs: () => [] };
}

const lane = (agentId: string, n: number, extra: Partial<LaneInfo> = {}): LaneInfo => ({
  agentId, lane: n, pool: 'local', host: 'h1', pid: 42, node: 'v20', platform: 'linux-x64', connectedAt: 0, inFlight: 0, completed: 0, rssBytes: undefined, artifactTransfers: 0, ...extra,
});

const status = (job: string, done: number, total: number, extra: Partial<JobStatus> = {}): JobStatus => ({
  id: job, pool: 'local', state: 'running', total, done, failed: 0, running: 0, queued: total - done, createdAt: 0, finishedAt: undefined, ...extra,
});

describe('dashboard aggregator', () => {
  it('turns job events into counts with a rate, and sends only what changed since the reader last looked', () => {
    const s = source();
    const agg = new Aggregator(s);
    const cursor = Aggregator.cursor();
    s.events.emit('job.submitted', { job: 'j1', pool: 'local', total: 100 });
    const first = agg.frame(cursor, true);
    expect(first.jobs).toMatchObject([{ id: 'j1', total: 100, done: 0, queued: 100 }]);
    expect(agg.frame(cursor).jobs).toBeUndefined(); // nothing moved
    const t0 = Date.now();
    agg.sample(t0);
    s.events.emit('job.progress', { job: 'j1', status: status('j1', 40, 100) });
    agg.sample(t0 + 2000);
    const moved = agg.frame(cursor).jobs![0]!;
    expect(moved.done).toBe(40);
    expect(moved.rate).toBeCloseTo(20);
    expect(moved.etaSec).toBeCloseTo(3);
    agg.close();
  });

  it('keeps a bounded window of finished tasks however many a job runs, and counts what a frame leaves out', () => {
    const s = source();
    const agg = new Aggregator(s);
    const cursor = Aggregator.cursor();
    agg.frame(cursor, true);
    for (let b = 0; b < 1000; b++) {
      const finished = Array.from({ length: 1000 }, (_, i) => [b * 1000 + i, 1, 'a1', 0, 1, 2, true] as [number, number, string, number, number, number, boolean]);
      s.events.emit('tasks', { job: 'big', started: [], finished, failures: [], requeued: 0 });
    }
    const f = agg.frame(cursor);
    expect(f.spans.length).toBeLessThanOrEqual(1000);
    expect(f.spans.length + f.spansDropped).toBe(1_000_000);
    expect(f.spans.at(-1)).toEqual(['big', 'a1/0', 1, 2, 1]);
    const full = agg.frame(Aggregator.cursor(), true);
    expect(full.spans.length).toBeLessThanOrEqual(WINDOW.spans + 1000);
    expect(JSON.stringify(full).length).toBeLessThan(1_000_000);
    agg.close();
  });

  it('keeps a frame small with 500 agents of 4 slots and a million-task job', () => {
    const lanes = Array.from({ length: 2000 }, (_, i) => lane(`pool-agent-${String(Math.floor(i / 4)).padStart(4, '0')}`, i % 4, { inFlight: 1, completed: 2000, rssBytes: 3e8, cpu: 0.97 }));
    const s = source(lanes);
    const agg = new Aggregator(s);
    s.events.emit('job.submitted', { job: 'big', pool: 'local', total: 1_000_000 });
    for (let b = 0; b < 250; b++) {
      const finished = Array.from({ length: 4000 }, (_, i) => [b * 4000 + i, 1, lanes[i % 2000]!.agentId, i % 4, 1, 2, true] as [number, number, string, number, number, number, boolean]);
      s.events.emit('tasks', { job: 'big', started: [], finished, failures: [], requeued: 0 });
      s.events.emit('job.progress', { job: 'big', status: status('big', (b + 1) * 4000, 1_000_000) });
    }
    const full = agg.frame(Aggregator.cursor(), true);
    expect(full.agents).toHaveLength(500);
    expect(full.jobs![0]!.done).toBe(1_000_000);
    // The page gets aggregates and a bounded window: well under a megabyte, whatever the job's size.
    expect(JSON.stringify(full).length).toBeLessThan(800_000);
    agg.close();
  });

  it('shows a failure with its remote stack, and an agent from launch to exit', () => {
    const s = source();
    const agg = new Aggregator(s);
    const cursor = Aggregator.cursor();
    agg.frame(cursor, true);
    s.events.emit('agent.launched', { pool: 'slurm', agentId: 'a7', host: 'node3', batchJob: '1234_2' });
    s.events.emit('lane.added', { lane: lane('a7', 0, { pool: 'slurm', host: 'node3' }) });
    s.events.emit('tasks', { job: 'j', started: [], finished: [[3, 1, 'a7', 0, 1, 2, false]], failures: [{ index: 3, attempt: 1, error: { code: 'TASK_ERROR', message: 'boom', name: 'RangeError', stack: 'RangeError: boom\n    at fit (task.js:3:9)' } }], requeued: 0 });
    let f = agg.frame(cursor);
    expect(f.failures).toMatchObject([{ job: 'j', index: 3, error: { stack: expect.stringContaining('at fit') } }]);
    expect(f.agents).toMatchObject([{ id: 'a7', state: 'running', host: 'node3', batchJob: '1234_2', slots: [0] }]);
    expect(f.launches[0]!.text).toContain('batch job 1234_2');
    s.events.emit('lane.removed', { agentId: 'a7', lane: 0, pool: 'slurm' });
    s.events.emit('agent.exited', { pool: 'slurm', agentId: 'a7', code: 0, signal: null, reason: 'idle' });
    f = agg.frame(cursor);
    expect(f.agents).toMatchObject([{ id: 'a7', state: 'exited', slots: [] }]);
    expect(f.launches.map((l) => l.kind)).toEqual(['exited']);
    expect(f.failures).toEqual([]);
    agg.close();
  });

  it('reads agents it was not told about from the lanes, with memory and CPU now', () => {
    const agg = new Aggregator(source([lane('a1', 0, { inFlight: 1, rssBytes: 5e7, cpu: 0.9 }), lane('a1', 1)]));
    const f = agg.frame(Aggregator.cursor(), true);
    expect(f.agents).toMatchObject([{ id: 'a1', slots: [0, 1], busy: 1, rssBytes: 5e7, cpu: 0.9 }]);
    agg.close();
  });

  it("follows the flows whose job was submitted, per stage as the controller gives them", () => {
    const s = source();
    const flow = { id: 'fl-1', name: 'sweep', state: 'running', jobId: 'j9', rows: 4, rowsFinished: 1, rowsFailed: 0, createdAt: 0, finishedAt: undefined, plan: {}, stages: [{ name: 'fit', done: 1, cached: 0, running: 1, queued: 2, failed: 0, skipped: 0 }] };
    s.flow = (id) => (id === 'fl-1' ? (flow as never) : undefined);
    const agg = new Aggregator(s);
    expect(agg.frame(Aggregator.cursor(), true).flows).toEqual([]);
    s.events.emit('job.submitted', { job: 'j9', pool: 'local', total: 4, flow: 'fl-1' });
    agg.sample();
    const f = agg.frame(Aggregator.cursor(), true);
    expect(f.flows).toMatchObject([{ id: 'fl-1', stages: [{ name: 'fit', done: 1, queued: 2 }] }]);
    expect(f.jobs).toMatchObject([{ id: 'j9', flow: 'fl-1' }]);
    agg.close();
  });

  it('stops listening when closed: no dashboard open costs the controller nothing', () => {
    const s = source();
    new Aggregator(s).close();
    expect(s.events.watched).toBe(false);
  });
});
