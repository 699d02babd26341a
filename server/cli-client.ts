/**
 * The CLI's own connection to a controller. It does not import client/ so that the dependency
 * direction stays client -> server -> agent/protocol; it finds the controller and its token the
 * way `connect()` does (client/remote/reach.ts), and fails as fast and as clearly.
 */
import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import { FlotillaError } from '../contract/errors.js';
import { withBearer } from '../client/remote/bearer-ws.js';
import { parseControllerUrl, pinFor, preflight, resolveToken, trpcSocketUrl } from '../client/remote/reach.js';
import type { AppRouter } from './router.js';
import { transformer } from '../contract/transformer.js';

export interface CliConnection {
  trpc: TRPCClient<AppRouter>;
  /** Rejects with CLOSED when the connection is lost and not back within LOST_MS. */
  lost: Promise<never>;
  close(): Promise<void>;
}

/** A CLI command gives up on a controller that does not answer within this long... */
const CLI_REACH_MS = 5000;
/** ...or that it lost and cannot reach again within this long (a restart takes less). */
const LOST_MS = 10_000;

/**
 * Connects to `url` with the token from --token-file, FLOTILLA_TOKEN or ~/.flotilla/token
 * (never a flag, which would show it in the process list). Rejects with CLOSED or UNAUTHORIZED
 * when the controller cannot be reached or refuses the token.
 */
export async function cliConnect(opts: { url: string; tokenFile?: string; fingerprint?: string }): Promise<CliConnection> {
  const url = parseControllerUrl(opts.url);
  const token = resolveToken({ tokenFile: opts.tokenFile });
  const agent = pinFor(url, opts.fingerprint);
  await preflight(url, opts.url, token, CLI_REACH_MS, agent);
  let timer: NodeJS.Timeout | undefined;
  let closing = false;
  let fail!: (err: FlotillaError) => void;
  const lost = new Promise<never>((_, reject) => (fail = reject));
  lost.catch(() => {});
  const ws = createWSClient({
    url: trpcSocketUrl(url),
    WebSocket: withBearer(token, { agent }),
    retryDelayMs: () => 500,
    onOpen: () => (clearTimeout(timer), (timer = undefined)),
    onClose: () => {
      if (closing) return;
      timer ??= setTimeout(() => fail(new FlotillaError('CLOSED', `lost the controller at ${opts.url} and could not reach it again within ${LOST_MS / 1000} s`)), LOST_MS);
    },
  });
  return {
    trpc: createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer })] }),
    lost,
    close: async () => {
      closing = true;
      clearTimeout(timer);
      await ws.close();
    },
  };
}

/** One line for a failed CLI call: its code and message, as connect() would throw it. */
export function describeCliError(err: unknown): string {
  if (err instanceof FlotillaError) return `${err.code} ${err.message}`;
  if (err instanceof TRPCClientError) {
    const data = err.data as { flotillaCode?: string | null; code?: string } | undefined;
    const code = data?.flotillaCode ?? data?.code;
    return code ? `${code} ${err.message}` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
