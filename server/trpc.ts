/**
 * The tRPC building blocks every router of the API uses: the call context, error conversion at
 * the boundary, and the procedures that require the bearer token.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import type { WebSocket } from 'ws';
import { FlotillaError } from '../contract/errors.js';
import type { FlotillaErrorCode } from '../contract/errors.js';
import { transformer } from '../contract/transformer.js';
import type { ControlPlane } from './control-plane.js';

/** What each call knows about its caller. */
export interface Context {
  /** The control plane the call acts on. */
  plane: ControlPlane;
  authorized: boolean;
  /** The client's socket, when the call came over WebSocket: used for backpressure. */
  ws?: WebSocket;
  /** The caller is in this process (an embedded controller's session): it may see internals. */
  local?: boolean;
}

/** @internal the tRPC instance */
export const t = initTRPC.context<Context>().create({
  transformer,
  // Server internals stay on the server: no stack (with its absolute paths) in any answer, and
  // an unexpected error's message (which may name files) only in the controller's log.
  isDev: false,
  errorFormatter({ shape, error, ctx, path }) {
    const cause = error.cause instanceof FlotillaError ? error.cause : undefined;
    const internal = error.code === 'INTERNAL_SERVER_ERROR' && !cause && !ctx?.local;
    if (internal) ctx?.plane.reportInternal(`call ${path ?? '(unknown)'}`, error.cause ?? error);
    const { stack: _stack, ...data } = shape.data as typeof shape.data & { stack?: string };
    const message = internal ? 'internal error in the controller (its log has the details)' : shape.message;
    return { ...shape, message, data: { ...data, flotillaCode: cause?.code ?? null, context: cause?.context ?? null } };
  },
});

const TRPC_CODE: Partial<Record<FlotillaErrorCode, TRPCError['code']>> = {
  BAD_INPUT: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  CLOSED: 'PRECONDITION_FAILED',
};

/** Converts errors once, at the boundary, keeping the FlotillaError as the cause. */
const boundary = t.middleware(async ({ next }) => {
  const res = await next();
  if (!res.ok && res.error.cause instanceof FlotillaError) {
    const cause = res.error.cause;
    throw new TRPCError({ code: TRPC_CODE[cause.code] ?? 'INTERNAL_SERVER_ERROR', message: cause.message, cause });
  }
  return res;
});

/** Procedures that require the bearer token (also used by artifacts-router.ts and functions/router.ts). */
export const authed = t.procedure.use(boundary).use(({ ctx, next }) => {
  if (!ctx.authorized) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' });
  return next();
});

/** @internal the router builder, for routers merged into appRouter */
export const router = t.router;
