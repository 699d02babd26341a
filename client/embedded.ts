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
import { FlotillaError } from '../contract/errors.js';
import { ClientFeeds, MAX_FOLLOWED_PER_CLIENT } from '../server/result-feed.js';
import { BATCH, BATCH_BYTES, estimate } from '../server/result-stream.js';
import type { MuxTransport } from './result-mux.js';
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
    mux: localMux(controller),
    call: localCall(controller, MAX_FOLLOWED_PER_CLIENT),
  };
}

/** The mux's calls in process: each job submitted as it comes, results pumped from the feed. */
function localMux(controller: Controller): MuxTransport {
  const feeds = new ClientFeeds();
  const { plane } = controller;
  const followAll = (stream: string, jobs: { jobId: string; offset: number }[]) => {
    const feed = feeds.feed(stream);
    return jobs.map(({ jobId, offset }) => {
      try {
        feed.follow(plane.job(jobId), offset);
        return { ok: true as const };
      } catch (err) {
        return { error: FlotillaError.from(err).toInfo() };
      }
    });
  };
  return {
    submit: async (stream, jobs) => {
      const feed = feeds.feed(stream);
      return jobs.map((job) => {
        try {
          const r = controller.submit(job);
          if (r.total > 0) feed.follow(plane.job(r.jobId), 0);
          return { ...r, sent: job.args.length };
        } catch (err) {
          return { error: FlotillaError.from(err, 'BAD_INPUT').toInfo() };
        }
      });
    },
    follow: async (stream, jobs) => followAll(stream, jobs),
    open: (stream, on) => {
      const feed = feeds.feed(stream);
      const stop = new AbortController();
      on.started();
      void (async () => {
        try {
          for (;;) {
            const parts = await feed.next(BATCH, BATCH_BYTES, estimate, stop.signal, plane.closingSignal, plane.durable);
            if (parts.length === 0) return;
            on.data(parts);
          }
        } catch (err) {
          if (!stop.signal.aborted) on.error(err);
        } finally {
          feeds.drop(stream);
        }
      })();
      return () => stop.abort();
    },
  };
}

/** The tRPC client of an in-process controller. */
export function localClient(controller: Controller): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({ links: [localLink({ router: appRouter, createContext: async () => controller.localContext(), transformer })] });
}
