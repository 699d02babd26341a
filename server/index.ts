/**
 * flotilla/server: the controller, for programs that host one themselves. The types it shares
 * with the client come from contract/.
 */
export { Controller, VERSION } from './controller.js';
export type { ControllerOptions } from './controller-options.js';
export type { AppRouter } from '../contract/api.js';
export type { JobStatus, ResultBatch, TaskResult } from '../contract/job-types.js';
export type { AgentRuntime, LaneInfo, PoolStatus, PruneResult, RuntimeOption } from '../contract/agent-types.js';
export type { LocalPoolOptions } from './pool.js';
export type { PoolOptions } from './pool-options.js';
export type { SshPoolOptions } from './launchers/ssh/options.js';
export type { SlurmPoolOptions, SlurmResources } from './launchers/slurm/options.js';
export type { SgePoolOptions, SgeResources } from './launchers/sge/options.js';
export type { BatchPoolOptions, PoliteOptions } from './launchers/batch/options.js';
export type { BatchSystem, EndedElement, HeaderInput, QueuedElement, Run } from './launchers/batch/system.js';
export type { Launcher, AgentHandle, AgentExit } from './launchers/launcher.js';
export { transformer } from '../contract/transformer.js';
export type { ControlPlane, FlowService } from './control-plane.js';
export { ControlEventStream } from './events.js';
export type { ControlEvent, ControlEventName, ControlEvents, TaskBatch } from './events.js';
