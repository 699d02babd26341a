/**
 * What a controller settles before it builds anything: its options checked, where it logs, the
 * address it may listen on, its pools' plans, its state folder (private) and its token. A start
 * that fails here leaves nothing to undo but a fresh temporary folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { badInput } from '../contract/errors.js';
import { checkOptions } from '../contract/option-check.js';
import type { ControllerOptions } from './controller-options.js';
import { controllerOptionsSchema } from './controller-options.js';
import { planPools } from './pool-options.js';
import type { PoolPlan } from './pool-options.js';
import { checkExposure } from './http/auth.js';
import { privateDir } from './private-files.js';
import { loadToken } from './state.js';

/** A controller's settled start-up choices. */
export interface ControllerSetup {
  log: (line: string) => void;
  host: string;
  port: number;
  pools: Record<string, PoolPlan>;
  stateDir: string;
  /** The folder is a temporary one of this controller's, removed when it closes. */
  ownsStateDir: boolean;
  token: string | undefined;
}

/** Checks `options` and settles what the controller starts with. @throws FlotillaError BAD_INPUT naming the option */
export function setUp(options: ControllerOptions): ControllerSetup {
  checkOptions(controllerOptionsSchema, options, 'controller options');
  // An embedded controller speaks only when asked to (FLOTILLA_DEBUG=1): its failures reach the
  // caller as errors; a standalone one logs to stderr.
  const toStderr = (line: string) => void process.stderr.write(`[flotilla ${new Date().toISOString()}] ${line}\n`);
  const log = options.log ?? (options.embedded && !process.env.FLOTILLA_DEBUG ? () => {} : toStderr);
  const host = options.host ?? '127.0.0.1';
  const requireToken = options.requireToken ?? true;
  checkExposure(host, { requireToken, tls: options.tls, embedded: options.embedded });
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) badInput('port', port, 'an integer in [0, 65535]');
  const hb = options.heartbeatMs;
  if (hb !== undefined && !(Number.isInteger(hb) && hb >= 100 && hb <= 5000)) badInput('heartbeatMs', hb, 'an integer from 100 to 5000 (agents presume a controller silent for 16 s gone)');
  const pools = planPools(options.pools); // before anything is created that would need undoing
  const ownsStateDir = !options.stateDir && !!options.embedded;
  const stateDir = options.stateDir ?? (options.embedded ? mkdtempSync(join(tmpdir(), 'flotilla-')) : join(process.env.HOME ?? tmpdir(), '.flotilla'));
  const wider = privateDir(stateDir);
  if (wider) log(`the state folder ${stateDir} was mode ${wider}: narrowed to 0700 (it holds keys, the token and jobs)`);
  // An embedded controller is reached in process only; its token guards the socket anyway.
  const token = !requireToken ? undefined : options.embedded && !options.stateDir ? randomBytes(32).toString('base64url') : loadToken(stateDir);
  return { log, host, port, pools, stateDir, ownsStateDir, token };
}
