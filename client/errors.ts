import type { TRPCClientError } from '@trpc/client';
import { FlotillaError } from '../contract/errors.js';
import type { FlotillaErrorCode } from '../contract/errors.js';

const FROM_TRPC: Record<string, FlotillaErrorCode> = {
  BAD_REQUEST: 'BAD_INPUT',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  PRECONDITION_FAILED: 'CLOSED',
};

/** Converts what a tRPC call threw into a FlotillaError, once, at the client's boundary. */
export function fromTRPCError(err: unknown): FlotillaError {
  if (err instanceof FlotillaError) return err;
  // By name, not instanceof: importing @trpc/client here would load it with the library.
  if (err instanceof Error && err.name === 'TRPCClientError') {
    const data = (err as TRPCClientError<never>).data as { flotillaCode?: FlotillaErrorCode | null; context?: Record<string, unknown> | null; code?: string } | undefined;
    const code = data?.flotillaCode ?? FROM_TRPC[data?.code ?? ''] ?? 'INTERNAL';
    return new FlotillaError(code, err.message, { cause: err, context: data?.context ?? undefined });
  }
  return FlotillaError.from(err);
}
