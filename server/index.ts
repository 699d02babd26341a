/**
 * flotilla/server: the controller, for programs that host one themselves. The types it shares
 * with the client come from contract/.
 */
export { Controller, VERSION } from './controller.js';
export type { ControllerOptions, PoolOptions, TlsMaterial, ConnectionLimits } from '../contract/controller-options.js';
export type { AppRouter } from '../contract/api.js';
export type { JobStatus, ResultBatch, TaskResult } from '../contract/job-types.js';
export type { AgentRuntime, LaneInfo, PoolStatus, PruneResult, RuntimeOption } from '../contract/agent-types.js';
export type { CommonPoolOptions, LocalPoolOptions, SshPoolOptions } from '../contract/pool-options.js';
export type { BatchPoolOptions, PoliteOptions, SgePoolOptions, SgeResources, SlurmPoolOptions, SlurmResources } from '../contract/batch-pool-options.js';
export type { BatchSystem, EndedElement, HeaderInput, QueuedElement, Run } from './launchers/batch/system.js';
export type { Launcher, AgentHandle, AgentExit } from './launchers/launcher.js';
export { transformer } from '../contract/transformer.js';
export type { ControlPlane, FlowService } from './control-plane.js';
export { ControlEventStream } from './events.js';
export type { ControlEvent, ControlEventName, ControlEvents, TaskBatch } from './events.js';
