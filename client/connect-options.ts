/**
 * The options of `connect()`, their schema (an unknown key or a wrong type is BAD_INPUT naming
 * it, with the nearest valid key), and which controller they designate: a running one (`url`,
 * else FLOTILLA_URL) or an embedded one.
 */
import { z } from 'zod';
import { FlotillaError } from '../contract/errors.js';
import type { ControllerOptions, PoolOptions } from '../contract/controller-options.js';
import { checkOptions, strictOptions } from '../contract/option-check.js';

/** Options of `connect()`. */
export interface ConnectOptions {
  /**
   * URL of a running controller (`http://host:port`, as `flotilla controller` prints).
   * @default FLOTILLA_URL when set (and neither `pools` nor `controller` is given), else an embedded controller
   */
  url?: string;
  /** Bearer token of that controller. @default the content of `tokenFile`, else FLOTILLA_TOKEN, else ~/.flotilla/token if it exists */
  token?: string;
  /** File holding the token (the controller prints its path); a leading `~/` is your home folder. */
  tokenFile?: string;
  /**
   * SHA-256 fingerprint of the certificate of an `https://` controller (`AA:BB:...` or plain hex,
   * as `flotilla controller --tls self-signed` prints it): that certificate alone is trusted, and
   * nothing is sent before it is checked. Without it, the certificate must be one the system
   * trusts (or NODE_EXTRA_CA_CERTS). @default FLOTILLA_FINGERPRINT
   */
  fingerprint?: string;
  /** Embedded only: pools to start. @default { local: { launcher: 'local' } } with one agent per core */
  pools?: Record<string, PoolOptions>;
  /** Embedded only: further controller options. */
  controller?: Omit<ControllerOptions, 'pools' | 'embedded'>;
  /** Wait until this many agent slots are connected before returning. @default 0 */
  waitForAgents?: number;
  /** How long to wait for them; SLURM queues can take minutes. @default 30000 */
  waitForAgentsTimeoutMs?: number;
}

/**
 * The keys of `connect()`'s options. `pools` and `controller` are checked in full by the embedded
 * loader (client/embedded.ts), with the server's schemas, only when an embedded controller starts.
 */
export const connectShape = {
  url: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  fingerprint: z.string().min(1).optional(),
  pools: z.unknown().optional(),
  controller: z.unknown().optional(),
  waitForAgents: z.number().int().min(0).optional(),
  waitForAgentsTimeoutMs: z.number().int().positive().optional(),
};

const connectOptionsSchema = strictOptions(connectShape);

/** What `connect()` opens. */
export type ConnectTarget = { kind: 'embedded' } | { kind: 'remote'; url: string };

/** Checks `connect()`'s options and says which controller they designate. */
export function connectTarget(opts: ConnectOptions): ConnectTarget {
  if (opts === null || typeof opts !== 'object') throw new FlotillaError('BAD_INPUT', `connect() options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  checkOptions(connectOptionsSchema, opts, 'connect()');
  const embeddedOnly = (['pools', 'controller'] as const).filter((k) => opts[k] !== undefined);
  if (opts.url !== undefined) {
    if (embeddedOnly.length > 0) {
      throw new FlotillaError('BAD_INPUT', `connect(): ${embeddedOnly.join(' and ')} set up an embedded controller and cannot be given with url: a running controller has its own (start it with \`flotilla controller --config <file>\` to give it pools)`);
    }
    return { kind: 'remote', url: opts.url };
  }
  const env = process.env.FLOTILLA_URL;
  if (env && embeddedOnly.length === 0) return { kind: 'remote', url: env };
  if (opts.token !== undefined || opts.tokenFile !== undefined || opts.fingerprint !== undefined) {
    throw new FlotillaError('BAD_INPUT', 'connect(): token, tokenFile and fingerprint are for a running controller: give its url too (or set FLOTILLA_URL)');
  }
  return { kind: 'embedded' };
}
