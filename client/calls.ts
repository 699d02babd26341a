/**
 * `fl.call` on a session whose transport has a direct call path (an embedded controller): one
 * registered function on one argument, its outcome handed straight to the caller's promise. The
 * controller runs it as a one-task job like any other (queued, dispatched, retried, timed out,
 * recorded once, kept durable), but the client side skips what a map needs and a call does not:
 * no MapJob, no coalesced submission, no result stream, no progress.
 */
import { FlotillaError } from '../contract/errors.js';
import type { TaskResult } from '../contract/job-types.js';
import type { SubmitInput } from '../contract/schemas.js';
import { locateError } from './call-site.js';
import type { CallSite } from './call-site.js';
import { fromTRPCError } from './errors.js';
import { toOutcome } from './outcome.js';

/** Where a call's outcome goes: its one result, or why it has none. Called once, either of them. */
export interface CallReceiver {
  /** The task's recorded result (committed, with a durable store). */
  result(r: TaskResult, pool: string): void;
  /** The call was refused (a bad or unknown function, a closed controller) or can never finish. */
  failed(err: unknown): void;
}

/** A transport's direct call path: submits a one-task job and reports its result to `to`. */
export type CallPath = (input: SubmitInput, to: CallReceiver) => void;

/** One call waiting for its outcome. */
class PendingCall implements CallReceiver {
  #open = true;

  constructor(
    private readonly calls: Calls,
    private readonly site: CallSite,
    private readonly resolve: (v: unknown) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  result(r: TaskResult, pool: string): void {
    if (!this.#end()) return;
    const o = toOutcome(r, pool);
    // The task's own error (its remote stack names the user's function), as a map's outcome has it.
    if (o.ok) this.resolve(o.value);
    else this.reject(o.error);
  }

  failed(err: unknown): void {
    if (!this.#end()) return;
    // Not the task's: it points at the app's line that called.
    this.reject(locateError(fromTRPCError(err), this.site));
  }

  #end(): boolean {
    if (!this.#open) return false;
    this.#open = false;
    this.calls.settled(this);
    return true;
  }
}

/** A session's calls in flight: each keeps the process alive until it settles; closing the session fails them. */
export class Calls {
  readonly #pending = new Set<PendingCall>();

  constructor(
    private readonly path: CallPath,
    /** The session's keep-alive count (an embedded controller holds nothing that would keep the process up). */
    private readonly hold: (delta: number) => void,
  ) {}

  /** Submits `input` (one task of a registered function); resolves with its value, rejects with its error. */
  run(input: SubmitInput, site: CallSite): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const call = new PendingCall(this, site, resolve, reject);
      this.#pending.add(call);
      this.hold(+1);
      try {
        this.path(input, call);
      } catch (err) {
        call.failed(err);
      }
    });
  }

  /** @internal A call has its outcome. */
  settled(call: PendingCall): void {
    if (this.#pending.delete(call)) this.hold(-1);
  }

  /** Fails every call still waiting (the session is closing). */
  close(err: FlotillaError): void {
    for (const call of [...this.#pending]) call.failed(err);
  }
}
