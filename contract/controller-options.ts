/**
 * What a controller is told at start (where it listens, its state folder, its pools, how long it
 * keeps what), as users write it: plain declarations, shared by the client's and the server's
 * public types. The server checks them with `controllerOptionsSchema` (server/controller-options.ts),
 * which a type test keeps equal to these.
 */
import type { LocalPoolOptions, SshPoolOptions } from './pool-options.js';
import type { SgePoolOptions, SlurmPoolOptions } from './batch-pool-options.js';

/** Any pool's options; `launcher` says which kind. */
export type PoolOptions = LocalPoolOptions | SshPoolOptions | SlurmPoolOptions | SgePoolOptions;

/** A certificate and its private key, PEM. */
export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Limits of a controller's connections. */
export interface ConnectionLimits {
  /** Connections at once, clients' and agents'. @default the open-file limit less the descriptors kept in reserve (256) */
  maxConnections: number;
  /** Connections that have not shown the token (nor gone to the agent endpoint) yet. @default 256 */
  maxUnproven: number;
  /** How long such a connection may stay, in ms. @default 15000 */
  unprovenTimeoutMs: number;
}

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
