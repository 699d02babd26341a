/**
 * What a controller is told at start: where it listens, its state folder, its pools, and how
 * long it keeps what. Keys and types are checked by `controllerOptionsSchema` at start (so a
 * misspelt key is an error, not ignored); ranges where used (Controller.start, planPools).
 */
import { z } from 'zod';
import type { PoolOptions } from './pool-options.js';
import { poolsSchema } from './pool-schema.js';
import { strictOptions } from './option-check.js';

/** Options of a controller. */
export interface ControllerOptions {
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Folder for the controller key and token. @default a private temporary folder when embedded, else ~/.flotilla */
  stateDir?: string;
  /** Require the bearer token from clients. Only a loopback controller may turn it off. @default true */
  requireToken?: boolean;
  /** Pools by name. @default { local: { launcher: 'local' } } */
  pools?: Record<string, PoolOptions>;
  /** Pool of maps that name none. @default the first pool */
  defaultPool?: string;
  /** Largest frame accepted from an agent. @default 256 MiB */
  maxFrameBytes?: number;
  /** Run inside the client's process: do not keep it alive, kill agents when it exits. @default false */
  embedded?: boolean;
  /** Where log lines go. @default stderr */
  log?: (line: string) => void;
  /** Finished jobs kept for late collection. @default 1000 */
  retainJobs?: number;
  /**
   * How often agents are pinged; an agent whose control connection misses two in a row is
   * taken as frozen or cut off, and its tasks run elsewhere. @default 5000
   */
  heartbeatMs?: number;
  /**
   * Keep jobs, arguments and results in a SQLite database in the state folder: jobs survive a
   * controller crash or restart, and a job's memory here stays small however many tasks it has.
   * @default true, except for an embedded controller
   */
  durable?: boolean;
  /**
   * The flow database: the cache of stage outputs and the record of each flow. A path, or false
   * for none (flows are then kept in memory and nothing is cached).
   * @default `<stateDir>/flows.db`; embedded: `$FLOTILLA_CACHE_DIR/flows.db` (~/.cache/flotilla/flows.db),
   * so a laptop run that crashed resumes from what it had computed
   */
  flowCache?: string | false;
}

/** The keys a controller takes from a file or the command line: every option but `embedded` and `log`. */
export const controllerFileShape = {
  host: z.string().min(1).optional(),
  port: z.number().int().optional(),
  stateDir: z.string().min(1).optional(),
  requireToken: z.boolean().optional(),
  pools: poolsSchema.optional(),
  defaultPool: z.string().min(1).optional(),
  maxFrameBytes: z.number().int().positive().optional(),
  retainJobs: z.number().int().min(0).optional(),
  heartbeatMs: z.number().int().optional(),
  durable: z.boolean().optional(),
  flowCache: z.union([z.string().min(1), z.literal(false)], { error: 'a file path, or false for none' }).optional(),
};

/** Every key of ControllerOptions, with its type. */
export const controllerOptionsSchema = strictOptions({
  ...controllerFileShape,
  embedded: z.boolean().optional(),
  log: z.custom<(line: string) => void>((v) => typeof v === 'function', { error: 'a function of one log line' }).optional(),
});

/** A controller's config file (`flotilla controller --config`): the controller's options, pools included. */
export const controllerConfigSchema = strictOptions(controllerFileShape);
