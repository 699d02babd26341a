/**
 * The error a job or flow fails with when its AbortSignal fires: TIMEOUT when the signal timed
 * out (`AbortSignal.timeout(ms)`, whose reason is a TimeoutError), CANCELLED otherwise.
 */
import { FlotillaError } from '../contract/errors.js';
import type { ErrorContext } from '../contract/errors.js';

/** Why `signal` ended `what` ("job", "flow fl-1..."), as a FlotillaError. */
export function abortError(signal: AbortSignal, what: string, context?: ErrorContext, before = false): FlotillaError {
  const reason: unknown = signal.reason;
  const when = before ? ' before it was submitted' : '';
  if ((reason as { name?: unknown } | undefined)?.name === 'TimeoutError') {
    return new FlotillaError('TIMEOUT', `${what} timed out: its signal's time limit passed${when}`, { cause: reason, context: { ...context, timedOut: true } });
  }
  return new FlotillaError('CANCELLED', before ? `the signal was aborted before the ${what} was submitted` : `${what} cancelled by its signal`, { cause: reason, context });
}
