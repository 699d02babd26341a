/** What a task threw, as the wire carries it: an ErrorInfo with the agent's context. */
import { errorProps, FlotillaError } from '../contract/errors.js';
import type { ErrorContext, ErrorInfo } from '../contract/errors.js';
import { cleanStack } from './stack.js';

/** The wire shape of whatever a task threw, with the agent's context. */
export function toErrorInfo(err: unknown, context: ErrorContext): ErrorInfo {
  if (err instanceof FlotillaError) return { ...err.toInfo(), stack: cleanStack(err.stack), context: { ...context, ...err.context } };
  if (err instanceof Error) {
    const info: ErrorInfo = { code: 'TASK_ERROR', message: err.message, name: err.name, stack: cleanStack(err.stack), context };
    const props = errorProps(err);
    if (props) info.props = props;
    return info;
  }
  let message: string;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
  } catch {
    message = String(err);
  }
  return { code: 'TASK_ERROR', message: `task threw a non-Error value: ${message}`, context };
}
