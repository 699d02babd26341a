/**
 * The CLI's own connection to a controller. It does not import client/ so that the dependency
 * direction stays client -> server -> agent/protocol.
 */
import { readFileSync } from 'node:fs';
import { withBearer } from './bearer-ws.js';
import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import type { AppRouter } from './router.js';
import { transformer } from './transformer.js';
import { pinnedAgent } from './tls-pin.js';
import { defaultStateDir, tokenPath } from './state.js';

export interface CliConnection {
  trpc: TRPCClient<AppRouter>;
  close(): Promise<void>;
}

/** Connects to `url` with the token from the flag, FLOTILLA_TOKEN, or the token file. */
export function cliConnect(opts: { url: string; tokenFile?: string; fingerprint?: string }): CliConnection {
  // An explicit file first, then the environment, then the default file; never a flag, which
  // would show the token in the process list.
  let token = opts.tokenFile ? undefined : process.env.FLOTILLA_TOKEN;
  if (!token) {
    const file = opts.tokenFile ?? tokenPath(defaultStateDir());
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch {
      throw new Error(`no token: set FLOTILLA_TOKEN or point --token-file at the file the controller printed (looked in ${file})`);
    }
  }
  const u = new URL(opts.url);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const fingerprint = opts.fingerprint ?? process.env.FLOTILLA_FINGERPRINT;
  u.protocol = secure ? 'wss:' : 'ws:';
  u.pathname = '/trpc';
  const agent = secure && fingerprint ? pinnedAgent(fingerprint) : undefined;
  const ws = createWSClient({ url: u.toString(), WebSocket: withBearer(token, { agent }), retryDelayMs: () => 500 });
  return { trpc: createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer })] }), close: () => ws.close() };
}

/** One line for a failed CLI call. */
export function describeCliError(err: unknown): string {
  if (err instanceof TRPCClientError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
