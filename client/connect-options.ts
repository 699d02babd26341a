/**
 * The options of `connect()`, their schema (an unknown key or a wrong type is BAD_INPUT naming
 * it, with the nearest valid key), and which controller they designate: a running one (`url`,
 * else FLOTILLA_URL) or an embedded one.
 */
import * as z from 'zod/mini';
import { FlotillaError } from '../contract/errors.js';
import type { ControllerOptions, PoolOptions } from '../contract/controller-options.js';
import { checkOptions, strictParams } from '../contract/option-issues.js';
// zod/mini with English messages (the library's import loads it, not the whole of zod).
import { lazy } from '../contract/option-schemas.js';

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
 * The keys of `connect()`'s options (built on first use). `pools` and `controller` are checked in
 * full by the embedded loader (client/embedded.ts), with the server's schemas, only when an
 * embedded controller starts.
 */
export const connectShape = lazy(() => ({
  url: z.optional(z.string().check(z.minLength(1))),
  token: z.optional(z.string().check(z.minLength(1))),
  tokenFile: z.optional(z.string().check(z.minLength(1))),
  fingerprint: z.optional(z.string().check(z.minLength(1))),
  pools: z.optional(z.unknown()),
  controller: z.optional(z.unknown()),
  waitForAgents: z.optional(z.number().check(z.int(), z.minimum(0))),
  waitForAgentsTimeoutMs: z.optional(z.number().check(z.int(), z.positive())),
}));

const connectOptionsSchema = lazy(() => z.strictObject(connectShape(), strictParams(Object.keys(connectShape()))));


/** What `connect()` opens. */
export type ConnectTarget = { kind: 'embedded' } | { kind: 'remote'; url: string };

/** Checks `connect()`'s options and says which controller they designate. */
export function connectTarget(opts: ConnectOptions): ConnectTarget {
  if (opts === null || typeof opts !== 'object') throw new FlotillaError('BAD_INPUT', `connect() options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  checkOptions(connectOptionsSchema(), opts, 'connect()');
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
