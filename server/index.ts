/**
 * flotilla/server: the controller, for programs that host one themselves.
 */
export { Controller, VERSION } from './controller.js';
export type { ControllerOptions } from './controller.js';
export type { AppRouter, ResultBatch } from './router.js';
export type { JobStatus, TaskResult } from './job.js';
export type { LaneInfo } from './lane.js';
export type { LocalPoolOptions, PoolStatus } from './pool.js';
export type { PoolOptions } from './pool-options.js';
export type { SshPoolOptions } from './launchers/ssh/options.js';
export type { AgentRuntime, RuntimeOption } from './runtime/index.js';
export type { PruneResult } from './runtime/prune.js';
export type { Launcher, AgentHandle, AgentExit } from './launchers/launcher.js';
export { transformer } from '../contract/transformer.js';
export type { ControlPlane, FlowService } from './control-plane.js';
export { ControlEventStream } from './events.js';
export type { ControlEvent, ControlEventName, ControlEvents, TaskBatch } from './events.js';
