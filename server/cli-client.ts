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
import { defaultStateDir, tokenPath } from './state.js';

export interface CliConnection {
  trpc: TRPCClient<AppRouter>;
  close(): Promise<void>;
}

/** Connects to `url` with the token from the flag, FLOTILLA_TOKEN, or the token file. */
export function cliConnect(opts: { url: string; tokenFile?: string }): CliConnection {
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
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = '/trpc';
  const ws = createWSClient({ url: u.toString(), WebSocket: withBearer(token), retryDelayMs: () => 500 });
  return { trpc: createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer })] }), close: () => ws.close() };
}

/** One line for a failed CLI call. */
export function describeCliError(err: unknown): string {
  if (err instanceof TRPCClientError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
