/**
 * The `session` procedures: many jobs submitted in one call (each checked as `map.submit`
 * checks one, a bad one failing alone with its own error), and one stream per session carrying
 * the results of every job it follows. A session's maps of one event-loop turn travel as one
 * message, and their results share one subscription.
 */
import { describeZodError, fnSpecSchema, submitSchema } from '../contract/schemas.js';
import type { FnSpec } from '../contract/fnspec.js';
import type { SubmitInput } from '../contract/schemas.js';
import { FlotillaError } from '../contract/errors.js';
import type { ErrorInfo } from '../contract/errors.js';
import { fnSpecId } from '../contract/fnspec.js';
import { packedList } from '../contract/packed.js';
import { followSchema, streamIdSchema, submitManySchema } from '../contract/session-schemas.js';
import type { FeedPart, SubmitOutcome } from '../contract/session-schemas.js';
import { z } from 'zod';
import type { ControlPlane } from './control-plane.js';
import { clientFeeds } from './result-feed.js';
import { BATCH, BATCH_BYTES, drained, estimate, submittingOn } from './result-stream.js';
import { authed, router } from './trpc.js';


/** A refusal as the client sees it: a FlotillaError's own, anything else only in the log. */
function refusal(plane: ControlPlane, err: unknown): { error: ErrorInfo } {
  if (err instanceof FlotillaError) return { error: err.toInfo() };
  plane.reportInternal('session.submit', err);
  return { error: { code: 'INTERNAL', message: 'internal error in the controller (its log has the details)' } };
}

/** A job of `session.submit` whose function is one of `fns`. */
const { fn: _fn, fnName: _name, fnVersion: _version, ...sharedShape } = submitSchema.shape;
const jobOfShared = z.object({ ...sharedShape, fnAt: z.number().int().min(0) });

/** The submission's shared functions, each checked (and given its id) once, when a job first uses it. */
function sharedFunctions(raw: unknown[]): (at: number) => FnSpec {
  const checked: (FnSpec | FlotillaError)[] = [];
  return (at) => {
    if (checked[at] === undefined) {
      if (at >= raw.length) checked[at] = new FlotillaError('BAD_INPUT', `fnAt ${at} names no function of the submission (it has ${raw.length})`);
      else {
        const parsed = fnSpecSchema.safeParse(raw[at]);
        checked[at] = parsed.success ? { ...parsed.data, id: fnSpecId(parsed.data) } : new FlotillaError('BAD_INPUT', describeZodError(parsed.error, `function ${at} of the submission`));
      }
    }
    const fn = checked[at]!;
    if (fn instanceof FlotillaError) throw fn;
    return fn;
  };
}

/** The `session` sub-router. */
export function sessionRouter() {
  return router({
    /** Queues many maps; one outcome per job, in order. */
    submit: authed.input(submitManySchema).mutation(({ ctx, input }) => {
      const feed = input.stream === undefined ? undefined : clientFeeds(ctx.ws).feed(input.stream);
      const fns = sharedFunctions(input.fns ?? []);
      const outcomes = input.jobs.map((raw, i): SubmitOutcome => {
        try {
          const at = typeof raw === 'object' && raw !== null ? (raw as { fnAt?: unknown }).fnAt : undefined;
          const parsed = (at === undefined ? submitSchema : jobOfShared).safeParse(raw);
          if (!parsed.success) throw new FlotillaError('BAD_INPUT', describeZodError(parsed.error, `job ${i} of the submission`));
          const { fnAt: _at, ...job } = parsed.data as SubmitInput & { fnAt?: number };
          // Lanes cache functions by id: a client does not get to choose which cached code its id names.
          const fn = at === undefined ? job.fn && { ...job.fn, id: fnSpecId(job.fn) } : fns(at as number);
          const res = ctx.plane.submit({ ...job, fn });
          if (res.total > job.args.length && ctx.ws) submittingOn(ctx.ws, ctx.plane).add(res.jobId);
          if (feed && res.total > 0) {
            try {
              feed.follow(ctx.plane.job(res.jobId), 0);
            } catch (err) {
              // Nobody could see its results: it does not run.
              ctx.plane.cancel(res.jobId);
              return refusal(ctx.plane, err);
            }
          }
          return res;
        } catch (err) {
          return refusal(ctx.plane, err);
        }
      });
      // Over WebSocket the answers travel as one JSON text, not a superjson walk of thousands of small objects.
      return ctx.ws ? packedList('o', outcomes) : outcomes;
    }),
    /** Adds jobs to a stream, each from an offset (attach, or again after a reconnect). */
    follow: authed.input(followSchema).mutation(({ ctx, input }) => {
      const feed = clientFeeds(ctx.ws).feed(input.stream);
      return input.jobs.map(({ jobId, offset }): { ok: true } | { error: ErrorInfo } => {
        try {
          feed.follow(ctx.plane.job(jobId), offset);
          return { ok: true };
        } catch (err) {
          return refusal(ctx.plane, err);
        }
      });
    }),
    /**
     * The results of every job the stream follows, as they finish: each event carries parts of
     * several jobs (job id, offset past its results, total). A job that cannot finish because the
     * controller closes ends with a part carrying the error.
     */
    results: authed.input(z.object({ stream: streamIdSchema })).subscription(async function* ({ ctx, input, signal }) {
      const feeds = clientFeeds(ctx.ws);
      const feed = feeds.feed(input.stream);
      try {
        for (;;) {
          const parts = await feed.next(BATCH, BATCH_BYTES, estimate, signal, ctx.plane.closingSignal, ctx.plane.durable);
          if (parts.length === 0) return;
          // Over WebSocket the event travels packed: one string rather than a walk of every part and result.
          yield ctx.ws ? packedList('f', parts) : parts;
          await drained(ctx.ws, signal);
        }
      } finally {
        feeds.drop(input.stream);
      }
    }),
  });
}
