/**
 * The scheduler in a test, without processes: a real Scheduler, real Jobs and Lanes, whose lanes
 * talk to fake agents (fake-lane.ts) on vitest's fake clock. A lane is wired as the agent
 * endpoint wires it: added on `ready`, removed when its connection closes.
 */
import { vi } from 'vitest';
import type { SecureChannel } from '../../../agent/protocol/channel.js';
import { encodeValue } from '../../../contract/codec.js';
import type { FnSpec } from '../../../contract/fnspec.js';
import { ControlEventStream } from '../../../server/events.js';
import { Job } from '../../../server/job.js';
import type { JobSpec, TaskResult } from '../../../server/job.js';
import { JobActivity } from '../../../server/job-activity.js';
import { Lane } from '../../../server/lane.js';
import { Scheduler } from '../../../server/scheduler.js';
import { FakeLaneChannel } from './fake-lane.js';
import type { Script } from './fake-lane.js';

/** A function spec: its id keys the scheduler's duration estimates, so different names are different functions. */
export const fnNamed = (id: string): FnSpec => ({ id, src: '(x) => x', vals: {}, fns: {} });

/** A scheduler with its event stream and job activity, as the controller builds it. */
export function makeScheduler(): { scheduler: Scheduler; events: ControlEventStream } {
  const events = new ControlEventStream();
  const scheduler = new Scheduler(events, new JobActivity(events, (j) => j.status()));
  return { scheduler, events };
}

let agents = 0;

/** Connects a lane of a fake agent running `script` to `scheduler`; `agentId` shares an agent between lanes. */
export function connectLane(scheduler: Scheduler, script: Script, opts: { pool?: string; agentId?: string; lane?: number; latencyMs?: number } = {}): { lane: Lane; channel: FakeLaneChannel } {
  const channel = new FakeLaneChannel(script, opts.latencyMs);
  const hello = { lane: opts.lane ?? 0, host: 'fake-host', pid: 1, node: 'v20.0.0', platform: 'linux-x64' };
  // The fake has all a Lane and the scheduler use of a SecureChannel (checked where it is declared).
  const lane = new Lane(channel as unknown as SecureChannel, opts.agentId ?? `fake-${++agents}`, opts.pool ?? 'p', hello);
  channel.onclose = (code, reason) => scheduler.removeLane(lane, reason || `closed (${code})`);
  scheduler.addLane(lane);
  return { lane, channel };
}

/** Options of a job beyond its arguments. */
export type JobOpts = Partial<Omit<JobSpec, 'total' | 'fn'>> & { fn?: string };

let jobs = 0;

/** Submits a job with `args` (all of them now) to `scheduler`. */
export function submit(scheduler: Scheduler, args: unknown[], opts: JobOpts = {}): Job {
  const job = makeJob(args.length, opts);
  job.append(0, args.map((a) => encodeValue(a)));
  scheduler.submit(job);
  return job;
}

/** A job of `total` tasks whose arguments are still to come (append them with `job.append`). */
export function makeJob(total: number, opts: JobOpts = {}): Job {
  const { fn, ...rest } = opts;
  return new Job({ id: `j-${++jobs}`, fn: fnNamed(fn ?? 'f'), pool: 'p', total, retries: 2, crashLimit: 3, timeoutMs: 0, ...rest });
}

/** The job's results, by task index. */
export function results(job: Job): TaskResult[] {
  return job.readLog(0, job.total).sort((a, b) => a.index - b.index);
}

/**
 * Runs the fake clock, timer by timer, until `done()` holds; fails after `maxMs` of fake time
 * (something that should have happened did not).
 */
export async function runUntil(done: () => boolean, maxMs = 60_000): Promise<void> {
  const until = Date.now() + maxMs;
  await vi.advanceTimersByTimeAsync(0);
  while (!done()) {
    if (Date.now() >= until) throw new Error(`not done after ${maxMs} ms of fake time`);
    await vi.advanceTimersToNextTimerAsync();
    if (vi.getTimerCount() === 0 && !done()) await vi.advanceTimersByTimeAsync(1);
  }
}
