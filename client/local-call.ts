/**
 * The direct call path of an embedded controller (client/calls.ts): a call's one-task job is
 * submitted in process and its first result read off the job's log the turn it is committed,
 * without a result stream in between.
 */
import { FlotillaError } from '../contract/errors.js';
import type { ErrorInfo } from '../contract/errors.js';
import type { Controller } from '../server/controller.js';
import type { Job } from '../server/job.js';
import type { CallPath, CallReceiver } from './calls.js';

/** Waits for the first result of a call's job. */
class FirstResult {
  #open = true;

  constructor(
    private readonly job: Job,
    private readonly to: CallReceiver,
    private readonly waiting: Set<FirstResult>,
    private readonly closing: AbortSignal,
    /** Why the job ends unfinished when the controller closes (`kept`: a durable one goes on at its next start). */
    private readonly closed: (job: Job, kept: boolean) => ErrorInfo,
    private readonly durable: boolean,
  ) {}

  /** Hands the result over once the log has it (committed); else waits for the log to change. */
  check(): void {
    if (!this.#open) return;
    const { job } = this;
    if (job.logLength > 0) return this.#end(() => this.to.result(job.readLog(0, 1)[0]!, job.pool));
    // Closing with the job unfinished: a durable controller keeps it for its next start, and no result comes now.
    if (this.closing.aborted) return this.#end(() => this.to.failed(FlotillaError.fromInfo(this.closed(job, this.durable))));
    job.onChange(() => this.check());
  }

  #end(tell: () => void): void {
    this.#open = false;
    this.waiting.delete(this);
    tell();
  }
}

/**
 * Calls on `controller`, in process; a call the controller refuses throws. At most `maxPending`
 * wait at once, and `closed` says why a call's job ends unfinished when the controller closes
 * (embedded.ts passes what a client's followed jobs have: only it loads server code).
 */
export function localCall(controller: Controller, maxPending: number, closed: (job: Job, kept: boolean) => ErrorInfo): CallPath {
  const { plane } = controller;
  const waiting = new Set<FirstResult>();
  // One listener for every call: when the controller closes, calls whose job cannot finish now end.
  plane.closingSignal.addEventListener('abort', () => queueMicrotask(() => [...waiting].forEach((w) => w.check())), { once: true });
  return (input, to) => {
    if (waiting.size >= maxPending) {
      throw new FlotillaError('BAD_INPUT', `this session already waits for ${maxPending} calls, the most one client may (await some before calling more)`);
    }
    let job: Job;
    try {
      job = plane.submitJob(input);
    } catch (err) {
      throw FlotillaError.from(err, 'BAD_INPUT');
    }
    const w = new FirstResult(job, to, waiting, plane.closingSignal, closed, plane.durable);
    waiting.add(w);
    w.check();
  };
}
