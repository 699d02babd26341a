/**
 * The embedded controller: with embedded-start.ts, the only client code that loads server code.
 * `connect()` imports them dynamically, and only when it has no url, so a session with a running
 * controller loads no server module (nor the native modules behind them).
 */
import { createTRPCClient, localLink } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import { z } from 'zod';
import { Controller } from '../server/controller.js';
import { controllerFileShape } from '../server/controller-options.js';
import { poolsSchema } from '../server/pool-schema.js';
import { appRouter } from '../server/router.js';
import type { AppRouter } from '../contract/api.js';
import { checkOptions, strictOptions } from '../contract/option-check.js';
import { transformer } from '../contract/transformer.js';
import { connectShape } from './connect-options.js';
import type { ConnectOptions } from './connect-options.js';
import { Session } from './session.js';
import type { HotPath } from './transport.js';
import { LocalMux } from './local-mux.js';
import { MAX_FOLLOWED_PER_CLIENT, closedInfo } from '../server/result-feed.js';
import { BATCH } from '../server/result-stream.js';
import { localCall } from './local-call.js';

const { pools: _pools, ...embeddedShape } = controllerFileShape;

/** `connect()`'s options in full, with the pools and controller options an embedded controller takes. */
const embeddedOptionsSchema = strictOptions({
  ...connectShape(),
  pools: poolsSchema.optional(),
  controller: strictOptions({
    ...embeddedShape,
    log: z.custom<(line: string) => void>((v) => typeof v === 'function', { error: 'a function of one log line' }).optional(),
  }).optional(),
});

/** Starts a controller in this process with `opts.pools` and opens a session with it. */
export async function connectEmbedded(opts: ConnectOptions): Promise<Session> {
  checkOptions(embeddedOptionsSchema, opts, 'connect()');
  const controller = await Controller.start({ ...opts.controller, pools: opts.pools, embedded: true });
  const session = new Session(localClient(controller), localHotPath(controller), controller, () => controller.close(), controller.dashboardUrl);
  if (opts.waitForAgents) {
    try {
      await controller.waitForLanes(opts.waitForAgents, { timeoutMs: opts.waitForAgentsTimeoutMs });
    } catch (err) {
      await session.close(); // nothing of a session that never became usable may linger
      throw err;
    }
  }
  return session;
}

/** The hot path of an in-process controller: no router, no serialization, no AbortSignal per call. */
export function localHotPath(controller: Controller): HotPath {
  return {
    submit: async (input) => ({ ...controller.submit(input), sent: input.args.length }),
    append: async (input) => (controller.append(input), { sent: input.args.length }),
    watch: (jobId, onBatch, onError) => {
      try {
        const job = controller.job(jobId);
        return job.watch(0, (seq, results) => onBatch({ seq, results, total: job.total, pool: job.pool }), onError);
      } catch (err) {
        onError(err);
        return () => {};
      }
    },
    mux: () => new LocalMux(controller.plane, { batch: BATCH, closed: closedInfo, maxFollowed: MAX_FOLLOWED_PER_CLIENT }),
    call: localCall(controller, MAX_FOLLOWED_PER_CLIENT, closedInfo),
  };
}

/** The tRPC client of an in-process controller. */
export function localClient(controller: Controller): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({ links: [localLink({ router: appRouter, createContext: async () => controller.localContext(), transformer })] });
}
