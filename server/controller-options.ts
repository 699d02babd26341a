/**
 * What a controller is told at start: where it listens, its state folder, its pools, and how
 * long it keeps what. Keys and types are checked by `controllerOptionsSchema` at start (so a
 * misspelt key is an error, not ignored); ranges where used (Controller.start, planPools).
 */
import { z } from 'zod';
import type { PoolOptions } from './pool-options.js';
import type { TlsMaterial } from './http/tls.js';
import type { ConnectionLimits } from './http/connection-guard.js';
import { poolsSchema } from './pool-schema.js';
import { strictOptions } from '../contract/option-check.js';

/** Options of a controller. */
export interface ControllerOptions {
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Folder for the controller key and token. @default a private temporary folder when embedded, else ~/.flotilla */
  stateDir?: string;
  /**
   * Require the bearer token from clients. Only a loopback controller may turn it off, and then
   * any user of this machine can run code as the controller's user. @default true
   */
  requireToken?: boolean;
  /**
   * Serve clients over TLS: a certificate and key (PEM text), or 'self-signed' for one made once
   * and kept in the state folder (clients pin its `fingerprint`). Required to listen beyond
   * loopback, unless embedded. Agents keep dialing the same port in the clear: their channel is
   * sealed end to end. @default none
   */
  tls?: TlsMaterial | 'self-signed';
  /** Bounds on connections to the port (see ConnectionLimits). @default from the open-file limit */
  connectionLimits?: Partial<ConnectionLimits>;
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
  tls: z
    .union([z.literal('self-signed'), strictOptions({ cert: z.union([z.string().min(1), z.instanceof(Buffer)]), key: z.union([z.string().min(1), z.instanceof(Buffer)]) })], {
      error: "'self-signed', or { cert, key } (PEM text)",
    })
    .optional(),
  connectionLimits: strictOptions({
    maxConnections: z.number().int().positive().optional(),
    maxUnproven: z.number().int().positive().optional(),
    unprovenTimeoutMs: z.number().int().positive().optional(),
  }).optional(),
};

/** Every key of ControllerOptions, with its type. */
export const controllerOptionsSchema = strictOptions({
  ...controllerFileShape,
  embedded: z.boolean().optional(),
  log: z.custom<(line: string) => void>((v) => typeof v === 'function', { error: 'a function of one log line' }).optional(),
});

/** A controller's config file (`flotilla controller --config`): the controller's options, pools included. */
export const controllerConfigSchema = strictOptions(controllerFileShape);
