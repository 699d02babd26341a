/**
 * The controller's tRPC router: what clients can call, over HTTP, WebSocket, or in process.
 * Every procedure but `health` requires the bearer token.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { tracked } from '@trpc/server';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { FlotillaError } from '../contract/errors.js';
import { packed } from '../contract/packed.js';
import { fnSpecId } from '../contract/fnspec.js';
import { appendSchema, jobIdSchema, submitSchema } from '../contract/schemas.js';
import type { ControlPlane } from './control-plane.js';
import type { ResultBatch, TaskResult } from '../contract/job-types.js';
import { distributeSchema, flowIdSchema, flowRowsSchema, flowSubmitSchema } from '../contract/flow-schemas.js';
import { artifactsRouter } from './artifacts-router.js';
import { everywhereSchema, runEverywhere } from './everywhere.js';
import { functionsRouter } from './functions/router.js';
import { authed, t } from './trpc.js';

export type { ResultBatch };

/** Results per stream event, at most... */
const BATCH = 2048;
/** ...and about this many bytes, so one event cannot be a large allocation on its own. */
const BATCH_BYTES = 1024 * 1024;
/** Above this many unsent bytes to a client, the result stream waits. */
export const HIGH_WATER = 4 * 1024 * 1024;

/** A cheap guess at a result's size on the wire: binary parts exactly, JSON roughly. */
function estimate(r: TaskResult): number {
  if (!r.ok) return 512 + (r.error.stack?.length ?? 0);
  let n = typeof r.value.j === 'string' ? r.value.j.length : 64;
  if (r.value.b) for (const b of r.value.b) n += b.byteLength * 1.34; // base64 on this link
  return n;
}

/** The first results of `results` that make one event: up to BATCH of them, about BATCH_BYTES. */
function batchLength(results: TaskResult[]): number {
  let n = 0;
  let bytes = 0;
  while (n < results.length && (bytes < BATCH_BYTES || n === 0)) bytes += estimate(results[n++]!);
  return n;
}

/** Jobs each client socket is still sending arguments for: one close listener per socket. */
const submitting = new WeakMap<WebSocket, Set<string>>();

function submittingOn(ws: WebSocket, plane: ControlPlane): Set<string> {
  let jobs = submitting.get(ws);
  if (!jobs) {
    const set = (jobs = new Set());
    submitting.set(ws, set);
    ws.once('close', () => set.forEach((id) => plane.abandonSubmission(id, 'the submitting client disconnected')));
  }
  return jobs;
}

async function drained(ws: WebSocket | undefined, signal: AbortSignal | undefined): Promise<void> {
  while (ws && ws.bufferedAmount > HIGH_WATER && ws.readyState === ws.OPEN && !signal?.aborted) {
    await sleep(5);
  }
}

export const appRouter = t.router({
  health: t.procedure.query(({ ctx }) => ({ ok: true, version: ctx.plane.version })),
  map: t.router({
    /** Queues a map; returns its job id at once. */
    submit: authed.input(submitSchema).mutation(({ ctx, input }) => {
      // Lanes cache functions by id: a client does not get to choose which cached code its id names.
      const res = ctx.plane.submit({ ...input, fn: input.fn && { ...input.fn, id: fnSpecId(input.fn) } });
      // A submitter that goes away before sending every argument: its job runs what it has.
      if (res.total > input.args.length && ctx.ws) submittingOn(ctx.ws, ctx.plane).add(res.jobId);
      return res;
    }),
    /** More arguments of a job whose submit gave a larger `total`; in order, one call at a time. */
    append: authed.input(appendSchema).mutation(({ ctx, input }) => {
      const res = ctx.plane.append(input);
      if (res.appended === ctx.plane.job(input.jobId).total && ctx.ws) submitting.get(ctx.ws)?.delete(input.jobId);
      return res;
    }),
  }),
  jobs: t.router({
    status: authed.input(jobIdSchema).query(({ ctx, input }) => ctx.plane.jobStatus(ctx.plane.job(input.jobId))),
    list: authed.query(({ ctx }) => [...ctx.plane.jobs()].map((j) => ctx.plane.jobStatus(j))),
    cancel: authed.input(jobIdSchema.extend({ index: z.number().int().min(0).optional() })).mutation(({ ctx, input }) => ctx.plane.cancel(input.jobId, input.index)),
    /**
     * Results as they finish, in batches. Each event is tracked by its log offset, so a client
     * that reconnects (or passes `lastEventId`) resumes after the last result it saw.
     */
    results: authed.input(jobIdSchema.extend({ lastEventId: z.string().nullish() })).subscription(async function* ({ ctx, input, signal }) {
      const job = ctx.plane.job(input.jobId);
      const cursor = input.lastEventId ? Number(input.lastEventId) : 0;
      if (!Number.isInteger(cursor) || cursor < 0) throw new FlotillaError('BAD_INPUT', `lastEventId must be a result offset, got ${input.lastEventId}`);
      // A client that goes away, or a closing controller, ends the wait of a quiet job's stream.
      const closing = ctx.plane.closingSignal;
      for await (const read of job.results(cursor, { max: BATCH, trim: batchLength, signal, until: closing })) {
        // Over WebSocket the batch travels packed, one string rather than a walk of every result.
        const batch: ResultBatch = { seq: read.seq, results: ctx.ws ? packed(read.results) : read.results, total: job.total, pool: job.pool };
        yield tracked(String(read.seq), batch);
        await drained(ctx.ws, signal);
      }
      if (!job.finished && !signal?.aborted && closing.aborted) {
        const kept = ctx.plane.durable ? '; it is kept, and goes on when the controller starts again' : '';
        throw new FlotillaError('CLOSED', `the controller closed before job ${job.id} finished${kept}`, { context: { jobId: job.id } });
      }
    }),
  }),
  /** Flows: parameter grids through stages (server/flows). */
  flow: t.router({
    submit: authed.input(flowSubmitSchema).mutation(({ ctx, input }) => ctx.plane.flows.submit(input)),
    /** Problems of running units with these distribute options here (pool, resources). */
    preflight: authed.input(distributeSchema.optional()).query(({ ctx, input }) => ctx.plane.flows.preflight(input)),
    status: authed.input(flowIdSchema).query(({ ctx, input }) => ctx.plane.flows.status(input.id)),
    /** Collected rows in grid order, a page at a time. */
    collect: authed.input(flowRowsSchema).query(({ ctx, input }) => ctx.plane.flows.rows(input.id, input.from, input.max)),
    /** Statuses as the flow progresses, ending with its final one. */
    progress: authed.input(flowIdSchema).subscription(({ ctx, input, signal }) => ctx.plane.flows.watch(input.id, signal)),
    list: authed.query(({ ctx }) => ctx.plane.flows.list()),
    cancel: authed.input(flowIdSchema).mutation(({ ctx, input }) => ctx.plane.flows.cancel(input.id)),
  }),
  functions: functionsRouter(),
  agents: t.router({
    list: authed.query(({ ctx }) => ctx.plane.agents()),
    logs: authed.input(z.object({ agentId: z.string().optional() })).query(({ ctx, input }) => ctx.plane.logs(input.agentId)),
    /** Asks every connected lane to drop (dispose) setup values: these setup ids, or all. */
    dropSetup: authed.input(z.object({ ids: z.array(z.string().min(1)).optional() })).mutation(({ ctx, input }) => ({ lanes: ctx.plane.dropSetup(input.ids) })),
    /** Runs a function once on every lane of a pool connected now; one result per lane (server/everywhere.ts). */
    everywhere: authed.input(everywhereSchema).mutation(({ ctx, input, signal }) => runEverywhere(ctx.plane, input, signal)),
  }),
  artifacts: artifactsRouter(),
  cache: t.router({
    /** Removes from an SSH host's cache the bundles and runtimes no current agent uses. */
    prune: authed.input(z.object({ host: z.string().min(1).max(300) })).mutation(({ ctx, input }) => ctx.plane.pruneCache(input.host)),
  }),
});

/** The router's type, for typed clients. */
export type AppRouter = typeof appRouter;
