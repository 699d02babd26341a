/**
 * One slot's task loop inside a lane: runs tasks one at a time in arrival order, sends results
 * back in batches. Tiny synchronous tasks run many per event-loop turn and share one frame;
 * a slow task's result goes out as soon as it is ready.
 */
import { decodeValue, encodeValue } from './protocol/codec.js';
import { FlotillaError } from './protocol/errors.js';
import type { ErrorContext, ErrorInfo } from './protocol/errors.js';
import { packEncoded, unpackEncoded } from './protocol/messages.js';
import type { ToAgent, ToController, WireResult, WireTask } from './protocol/messages.js';
import { materialize } from './materialize.js';
import { S } from './lane-state.js';
import type { TaskContext } from './protocol/task-context.js';


type Send = (msg: ToController, bins?: Uint8Array[]) => void;
type Queued = { task: WireTask; bins: Buffer[] };

/** Results older than this are sent before another task starts, so slow tasks report promptly. */
const FLUSH_AFTER_MS = 1;
/** How long one event-loop turn may run synchronous tasks before yielding to I/O. */
const SLICE_MS = 4;
/** A cancelled async task gets this long to settle before its lane is replaced. */
export const CANCEL_GRACE_MS = 1000;

export class Runner {
  private readonly fns = new Map<number, (...a: unknown[]) => unknown>();
  private queue: Queued[] = [];
  private head = 0;
  private pending: WireResult[] = [];
  private pendingBins: Uint8Array[] = [];
  private pendingSince = 0;
  private flushScheduled = false;
  private pumpScheduled = false;
  private running: { run: number; ac?: AbortController; timer?: NodeJS.Timeout; t0: number } | undefined;
  private readonly cancelled = new Set<number>();

  constructor(
    private readonly send: Send,
    private readonly status: Float64Array,
    private readonly where: ErrorContext,
    private readonly onStuck: (reason: string) => void,
  ) {}

  /** Handles one controller message. */
  handle(msg: ToAgent, bins: Buffer[]): void {
    switch (msg.t) {
      case 'fn': {
        const vals = Object.fromEntries(Object.entries(msg.spec.vals).map(([k, w]) => [k, unpackEncoded(w, bins)]));
        try {
          this.fns.set(msg.ref, materialize({ ...msg.spec, vals }));
        } catch (err) {
          // Tasks of this function will fail with the reason, one by one.
          this.fns.set(msg.ref, () => {
            throw err;
          });
        }
        return;
      }
      case 'run':
        for (const task of msg.tasks) this.queue.push({ task, bins });
        this.status[S.BUSY] = this.queue.length - this.head + (this.running ? 1 : 0);
        this.pump();
        return;
      case 'cancel':
        for (const run of msg.runs) this.cancel(run);
        return;
      default:
        return;
    }
  }

  /** Queued and running tasks. */
  get load(): { running: number; queued: number } {
    return { running: this.running ? 1 : 0, queued: this.queue.length - this.head };
  }

  /** The channel went away: everything in flight is the controller's to re-run. */
  reset(): void {
    if (this.running) {
      this.running.ac?.abort(new FlotillaError('CANCELLED', 'connection to the controller lost'));
      clearTimeout(this.running.timer);
    }
    this.running = undefined;
    this.queue = [];
    this.head = 0;
    this.pending = [];
    this.pendingBins = [];
    this.cancelled.clear();
    this.fns.clear();
    this.status[S.DEADLINE] = 0;
    this.status[S.BUSY] = 0;
  }

  private cancel(run: number): void {
    const r = this.running;
    if (r && r.run === run) {
      r.ac?.abort(new FlotillaError('CANCELLED', 'task cancelled'));
      // The result is no longer wanted; if the task ignores its signal, the lane is replaced.
      const timer = setTimeout(() => {
        if (this.running === r) this.onStuck(`cancelled run ${run} did not stop within ${CANCEL_GRACE_MS} ms`);
      }, CANCEL_GRACE_MS);
      timer.unref();
      return;
    }
    this.cancelled.add(run);
  }

  private pump(): void {
    this.pumpScheduled = false;
    const sliceEnd = performance.now() + SLICE_MS;
    while (!this.running && this.head < this.queue.length) {
      const q = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      if (this.cancelled.delete(q.task[0])) continue;
      this.start(q);
      if (performance.now() > sliceEnd && !this.running) {
        this.schedulePump();
        break;
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    this.status[S.BUSY] = this.queue.length - this.head + (this.running ? 1 : 0);
    this.status[S.LAST_ACTIVITY] = Date.now();
    // Nothing left to batch with: send now rather than a loop turn later.
    if (this.head === this.queue.length) this.flush();
    else this.scheduleFlush();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  private start({ task, bins }: Queued): void {
    const [run, fnRef, wireArg, timeoutMs, index, attempt] = task;
    const t0 = performance.now();
    if (this.pending.length > 0 && t0 - this.pendingSince > FLUSH_AFTER_MS) this.flush();
    const fn = this.fns.get(fnRef);
    if (!fn) return this.fail(run, t0, new FlotillaError('INTERNAL', `function ${fnRef} was not defined on this agent before its task`));
    let arg: unknown;
    try {
      arg = decodeValue(unpackEncoded(wireArg, bins));
    } catch (err) {
      return this.fail(run, t0, FlotillaError.from(err, 'BAD_INPUT'));
    }
    const slot: { run: number; ac?: AbortController; timer?: NodeJS.Timeout; t0: number } = { run, t0 };
    const ctx: TaskContext = {
      index,
      attempt,
      get signal() {
        return (slot.ac ??= new AbortController()).signal;
      },
    };
    if (timeoutMs > 0) {
      // Tell the controller the clock starts now, before code that may never yield runs.
      this.flush(run);
      this.status[S.DEADLINE] = Date.now() + timeoutMs;
    }
    let out: unknown;
    try {
      out = fn(arg, ctx);
    } catch (err) {
      this.status[S.DEADLINE] = 0;
      return this.fail(run, t0, err);
    }
    if (typeof (out as PromiseLike<unknown> | null)?.then !== 'function') {
      this.status[S.DEADLINE] = 0;
      return this.ok(run, t0, out);
    }
    this.running = slot;
    const settle = (ok: boolean, v: unknown) => {
      if (this.running !== slot) return; // timed out, cancelled or reset meanwhile
      clearTimeout(slot.timer);
      this.running = undefined;
      this.status[S.DEADLINE] = 0;
      if (ok) this.ok(run, t0, v);
      else this.fail(run, t0, v);
      this.schedulePump();
    };
    (out as PromiseLike<unknown>).then((v) => settle(true, v), (e) => settle(false, e));
    if (timeoutMs > 0) {
      slot.timer = setTimeout(() => {
        const err = new FlotillaError('TIMEOUT', `task timed out after ${timeoutMs} ms`, { context: { ...this.where, timedOut: true } });
        slot.ac?.abort(err);
        settle(false, err);
      }, timeoutMs);
    }
  }

  private ok(run: number, t0: number, value: unknown): void {
    let enc;
    try {
      enc = encodeValue(value, 'the returned value');
    } catch (err) {
      return this.fail(run, t0, new FlotillaError('TASK_ERROR', `the task's result cannot be sent: ${(err as Error).message}`));
    }
    this.push([run, 1, packEncoded(enc, this.pendingBins), Math.round((performance.now() - t0) * 1000)]);
  }

  private fail(run: number, t0: number, err: unknown): void {
    const durationMs = performance.now() - t0;
    this.push([run, 0, toErrorInfo(err, { ...this.where, durationMs }), Math.round(durationMs * 1000)]);
  }

  private push(r: WireResult): void {
    if (this.pending.length === 0) this.pendingSince = performance.now();
    this.pending.push(r);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.pending.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Sends pending results; `starting` marks a run whose timeout clock starts now. */
  private flush(starting?: number): void {
    if (this.pending.length === 0 && starting === undefined) return;
    const msg: ToController = starting === undefined ? { t: 'res', r: this.pending } : { t: 'res', r: this.pending, s: starting };
    this.send(msg, this.pendingBins);
    this.pending = [];
    this.pendingBins = [];
  }
}

/** The wire shape of whatever a task threw, with the agent's context. */
export function toErrorInfo(err: unknown, context: ErrorContext): ErrorInfo {
  if (err instanceof FlotillaError) return { ...err.toInfo(), context: { ...context, ...err.context } };
  if (err instanceof Error) return { code: 'TASK_ERROR', message: err.message, name: err.name, stack: err.stack, context };
  let message: string;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
  } catch {
    message = String(err);
  }
  return { code: 'TASK_ERROR', message: `task threw a non-Error value: ${message}`, context };
}
