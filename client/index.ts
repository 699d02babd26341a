/**
 * flotilla: run functions across machines.
 *
 *   import { clusterMap, connect, flow, paramGrid } from 'flotilla';
 */
export { clusterMap } from './cluster-map.js';
export { closeDefaultSession } from './default-session.js';
export { connect } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { Session } from './session.js';
export type { MapOptions, TaskFn, AttachOptions } from './session.js';
export type { MapProgress, ProgressOption } from './progress/map-progress.js';
export type { EverywhereOptions, LaneOutcome, NamedMapOptions } from './session.js';
export type { LaneWhere } from '../contract/agent-types.js';
export { Functions } from './functions.js';
export type { RegisteredFn, RegisterOptions, FunctionInfo, FunctionDetails } from './functions.js';
export { MapJob } from './job.js';
export type { TaskOutcome, TaskSuccess, TaskFailure, RanOn, TaskTimings } from './outcome.js';
export type { JobUsage, Percentiles, SlowTask } from '../contract/job-types.js';
export { shipFunction } from './ship.js';
export { flow, Flow } from './flow/flow.js';
export type { FlowOptions } from './flow/flow.js';
export { paramGrid } from './flow/grid.js';
export type { GridRow } from './flow/grid.js';
export { FlowHandle, attachFlow } from './flow/handle.js';
export type { CollectOptions } from './flow/handle.js';
export type { FlowRow, OkRow, FailedRow, StageInput, StageFn, StageOptions, CommandOptions, DistributeOptions } from './flow/types.js';
export type { CommandOutput, StageOutcome, Within } from '../contract/flow-unit.js';
export type { FlowStatus, StageProgress, FlowPlan, FlowRowError, FlowProblem } from '../contract/flow-types.js';
export { moduleOf, moduleFn } from './module/handle.js';
export type { ModuleFunction, ModuleHandle } from './module/handle.js';
export type { ModuleBuildOptions } from './module/build.js';
export { FlotillaError, RETRYABLE } from '../contract/errors.js';
export type { FlotillaErrorCode, ErrorContext, ErrorInfo } from '../contract/errors.js';
export type { TaskContext } from '../contract/task-context.js';
export type { JobStatus } from '../contract/job-types.js';
export type { LaneInfo, AgentRuntime, RuntimeOption, PruneResult, PoolStatus } from '../contract/agent-types.js';
export type { LocalPoolOptions } from '../server/pool.js';
export type { PoolOptions } from '../server/pool-options.js';
export type { SshPoolOptions } from '../server/launchers/ssh/options.js';
export type { SlurmPoolOptions } from '../server/launchers/slurm/options.js';
export type { SgePoolOptions } from '../server/launchers/sge/options.js';
export type { ControllerOptions } from '../server/controller-options.js';
