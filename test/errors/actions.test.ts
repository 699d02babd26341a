/**
 * What an error asks of the part that handles it (retry the task, replace the lane, give up on a
 * pool, set a host aside) is a typed field that survives the trip between processes, not a
 * context key: a context that happens to hold `retry` or `permanent` asks nothing.
 */
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../contract/errors.js';
import type { ErrorInfo } from '../../contract/errors.js';
import { boundedErrorInfo } from '../../contract/bounds.js';

/** As the controller gets an agent's error: its wire shape, through the wire check, rebuilt. */
function travelled(err: FlotillaError): FlotillaError {
  const wire = JSON.parse(JSON.stringify(err.toInfo())) as Record<string, unknown>;
  return FlotillaError.fromInfo(boundedErrorInfo(wire));
}

describe('error actions', () => {
  it('an action travels from the agent to the controller with its error', () => {
    for (const action of ['retry', 'replace-lane', 'give-up', 'set-host-aside'] as const) {
      const back = travelled(new FlotillaError('SETUP_FAILED', 'slow', { context: { timedOut: true }, action }));
      expect(back.action).toBe(action);
      expect(back.context).toEqual({ timedOut: true });
    }
  });

  it('an action the wire does not know is dropped; the error still travels', () => {
    const info = boundedErrorInfo({ code: 'TASK_ERROR', message: 'x', action: 'reboot-the-controller' });
    expect(info).toEqual({ code: 'TASK_ERROR', message: 'x' } satisfies ErrorInfo);
  });

  it('a context holding retry, permanent, hostPermanent or setupTimedOut asks for nothing', () => {
    const back = travelled(new FlotillaError('TASK_ERROR', 'x', { context: { retry: true, permanent: true, hostPermanent: true, setupTimedOut: true } }));
    expect(back.action).toBeUndefined();
    expect(back.context).toMatchObject({ retry: true, permanent: true });
  });

  it('an error made with a cause keeps its action unless given its own', () => {
    const cause = new FlotillaError('LAUNCH_FAILED', 'no node', { action: 'set-host-aside' });
    expect(new FlotillaError('LAUNCH_FAILED', `host a: ${cause.message}`, { cause }).action).toBe('set-host-aside');
    expect(new FlotillaError('LAUNCH_FAILED', 'all hosts', { cause, action: 'give-up' }).action).toBe('give-up');
    expect(new FlotillaError('TASK_ERROR', 'plain', { cause: new Error('x') }).action).toBeUndefined();
  });
});
