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
import { captureCallSite, locateError } from './call-site.js';
import { fromTRPCError } from './errors.js';
import { toOutcome } from './outcome.js';

/** Where a call's outcome goes: its one result, or why it has none. Called once, either of them. */
export interface CallReceiver {
  /** The task's recorded result (committed, with a durable store). */
  result(r: TaskResult, pool: string): void;
  /** The call was refused (a bad or unknown function, a closed controller) or can never finish. */
  failed(err: unknown): void;
}

/** A transport's direct call path: submits a one-task job and reports its result to `to`; throws if the job is refused. */
export type CallPath = (input: SubmitInput, to: CallReceiver) => void;

/**
 * Errors that ended a call after it left the app's code (its session or controller closed):
 * `locate` gives them the stack of the app's `await` of the call.
 */
const unlocated = new WeakSet<object>();

/** One call waiting for its outcome. */
class PendingCall implements CallReceiver {
  #open = true;

  constructor(
    private readonly calls: Calls,
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
    const e = fromTRPCError(err);
    unlocated.add(e);
    this.reject(e);
  }

  #end(): boolean {
    if (!this.#open) return false;
    this.#open = false;
    this.calls.settled(this);
    return true;
  }
}

/**
 * A session's calls in flight: they keep the process alive until they settle; closing the session
 * fails them.
 *
 * No call site is captured per call (a stack capture cost ~10 us on this path, more than the
 * rest of the client's side of a call): a call refused at once (a bad or unknown name, a closed
 * session) is refused while the app's frames are still on the stack, and is given those; one
 * that fails later for a reason not its task's gets the app's frames from V8's async stack trace
 * of the `await` that waits for it (`locate`).
 */
export class Calls {
  readonly #pending = new Set<PendingCall>();

  /**
   * Keeps the process alive while calls are pending (an embedded controller holds nothing that
   * would): one timer for the session's life, referenced only then, so a call made after another
   * settled makes no timer of its own.
   */
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(private readonly path: CallPath) {}

  /**
   * Submits `input` (one task of a registered function); resolves with its value, rejects with
   * its error. `entry` is the public function the app called, for the stack of a refusal.
   */
  run(input: SubmitInput, entry: Function): Promise<unknown> {
    let call!: PendingCall;
    const p = new Promise((resolve, reject) => (call = new PendingCall(this, resolve, reject)));
    try {
      this.path(input, call);
    } catch (err) {
      return Promise.reject(locateError(fromTRPCError(err), captureCallSite(entry)));
    }
    if (this.#pending.size === 0) (this.#keepAlive ??= setInterval(() => {}, 1 << 30)).ref();
    this.#pending.add(call);
    return p;
  }

  /** @internal A call has its outcome. */
  settled(call: PendingCall): void {
    if (this.#pending.delete(call) && this.#pending.size === 0) this.#keepAlive?.unref();
  }

  /** Fails every call still waiting (the session is closing). */
  close(err: FlotillaError): void {
    for (const call of [...this.#pending]) call.failed(err);
    clearInterval(this.#keepAlive);
  }

  /**
   * `err` as the app should see it: one that ended a call after it was submitted gets the stack
   * from here, which holds the app's frames as V8's async stack trace when this runs in an async
   * function the app awaits.
   */
  static locate(err: unknown): unknown {
    if (typeof err !== 'object' || err === null || !unlocated.delete(err)) return err;
    return locateError(err as Error, captureCallSite());
  }
}
