/**
 * The seam between the API layer (router, flows, `everywhere`, placement) and the core
 * (scheduler, jobs, pools): what a client's call may ask of the control plane. The API layer
 * depends on this interface only, never on the `Controller` that composes the parts, so it can
 * be driven by anything that implements it and reads nothing through it.
 */
import type { Encoded } from '../contract/codec.js';
import type { ControlEventStream } from './events.js';
import type { Job, JobStatus } from './job.js';
import type { Lane, LaneInfo } from './lane.js';
import type { LogLine } from './log-ring.js';
import type { PoolStatus } from './pool.js';
import type { Routable } from './routing.js';
import type { ArtifactStore } from './artifacts.js';
import type { FunctionRegistry } from './functions/registry.js';
import type { PruneResult } from './runtime/prune.js';
import type { AppendInput, SubmitInput } from '../contract/schemas.js';
import type { DistributeInput, FlowSubmitInput } from '../contract/flow-schemas.js';
import type { FlowProblem, FlowStatus } from '../contract/flow-types.js';
import type { FlowRecord } from './flows/db.js';

/** A flow in `flows list`. */
export type FlowSummary = Pick<FlowRecord, 'id' | 'name' | 'createdAt' | 'finishedAt' | 'jobId'> & { state: FlowStatus['state'] };

/** Flows as the API offers them (server/flows/manager.ts implements it). */
export interface FlowService {
  submit(input: FlowSubmitInput): FlowStatus;
  /** Problems of running units with these distribute options here (pool, resources). */
  preflight(d?: DistributeInput): FlowProblem[];
  status(id: string): FlowStatus;
  /** Collected rows [from, from + max) in grid order, encoded as one array. */
  rows(id: string, from: number, max: number): { rows: Encoded; total: number; state: FlowStatus['state'] };
  list(): FlowSummary[];
  cancel(id: string): { cancelled: boolean };
  /** Statuses as the flow progresses, ending with its final one. */
  watch(id: string, signal?: AbortSignal): AsyncGenerator<FlowStatus>;
}

/** What the API layer asks of the control plane. */
export interface ControlPlane {
  readonly version: string;
  /** The pool a job runs on when it names none and requires nothing. */
  readonly defaultPool: string;
  /** The pools, for routing and placement checks. */
  readonly pools: ReadonlyMap<string, Routable>;
  /** Every event of the control plane, for any number of subscribers. */
  readonly events: ControlEventStream;
  /** Aborted when the controller starts closing: result streams end with CLOSED. */
  readonly closingSignal: AbortSignal;
  /** Whether unfinished jobs outlive a restart (the controller has a job store). */
  readonly durable: boolean;
  /** Module artifacts clients uploaded. */
  readonly artifacts: ArtifactStore;
  /** Functions registered by name. */
  readonly functions: FunctionRegistry;
  /** Flows: parameter grids run through stages, as one job of units each. */
  readonly flows: FlowService;

  /** Queues a map (or its first chunk of arguments); `flow` names the flow whose units it runs. */
  submit(input: SubmitInput, flow?: string): { jobId: string; total: number };
  /** More arguments of a job submitted in chunks. */
  append(input: AppendInput): { appended: number };
  /** A submitter went away mid-submission: the tasks it never sent fail, the rest run. */
  abandonSubmission(jobId: string, why: string): void;
  /** Cancels one task, or every unfinished task of a job. */
  cancel(jobId: string, index?: number): { cancelled: number };
  /** A job by id (its results log is read from an offset), or NOT_FOUND. */
  job(id: string): Job;
  /** A job by id, or undefined. */
  findJob(id: string): Job | undefined;
  /** Every job the controller keeps. */
  jobs(): Iterable<Job>;
  /** A job's progress, and why its queued tasks wait when no agent takes work. */
  jobStatus(job: Job): JobStatus;

  /** Pools and connected lanes. */
  agents(): { pools: PoolStatus[]; lanes: LaneInfo[] };
  /** Recent stderr lines of one agent (or all); NOT_FOUND for an id that is no agent's. */
  logs(agentId?: string): LogLine[];
  /** Lanes of `pool` connected now that take work. */
  lanesOf(pool: string): Lane[];
  /** Runs task i of `job` on lanes[i], whatever else they hold; the job is listed until `forgetJob`. */
  runPinned(job: Job, lanes: readonly Lane[]): void;
  /** Drops a job nobody will list or collect (an `everywhere` call's). */
  forgetJob(id: string): void;
  /** Asks every connected lane to drop setup values (these ids, or all); returns how many were asked. */
  dropSetup(ids?: string[]): number;
  /** Removes bundles and runtimes no current agent uses from an SSH or SLURM host's cache. */
  pruneCache(host: string): Promise<PruneResult>;
  /** Logs an unexpected error a client's call met: the client is told only that it happened. */
  reportInternal(what: string, err: unknown): void;
}
