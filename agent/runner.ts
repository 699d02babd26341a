/**
 * One slot's task loop inside a lane: runs tasks one at a time in arrival order, sends results
 * back in batches. Tiny synchronous tasks run many per event-loop turn and share one frame;
 * a slow task's result goes out as soon as it is ready.
 */
import { decodeValue, encodeValue } from '../contract/codec.js';
import { errorProps, FlotillaError } from '../contract/errors.js';
import { cleanStack } from './stack.js';
import type { ErrorContext, ErrorInfo } from '../contract/errors.js';
import { packEncoded, unpackEncoded } from '../contract/messages.js';
import { boundedErrorInfo } from '../contract/bounds.js';
import type { ToAgent, ToController, WirePart, WireResult, WireTask } from '../contract/messages.js';
import { ArtifactCache } from './artifacts.js';
import { FnTable } from './fn-table.js';
import { S } from './lane-state.js';
import { Waiters } from '../contract/waiters.js';
import type { CpuClock } from './task-usage.js';
import type { TaskContext } from '../contract/task-context.js';


type Send = (msg: ToController, bins?: Uint8Array[]) => void;
type Queued = { task: WireTask; bins: Buffer[]; cancelled?: boolean };

/** The task in the slot. After an abort it keeps the slot until it really stops. */
interface Running {
  run: number;
  t0: number;
  ac?: AbortController;
  timer?: NodeJS.Timeout;
  /** Why it was aborted (cancel, timeout): its one result, sent once the slot is free. */
  aborted?: FlotillaError;
  /** Set once its result is pushed: a later `ctx.emit` is dropped, so parts never follow results. */
  settled: boolean;
  /** An asynchronous task's CPU clock when its synchronous part returned, and that part's wall time (µs). */
  cpu0?: number;
  syncUs?: number;
}

/**
 * A task's context. A class, not a literal: its getter and `emit` live on the prototype, so a
 * task costs one object here however many methods the context grows.
 */
class Ctx implements TaskContext {
  readonly #slot: Running;
  readonly #runner: Runner;
  constructor(readonly index: number, readonly attempt: number, readonly setup: unknown, slot: Running, runner: Runner) {
    this.#slot = slot;
    this.#runner = runner;
  }

  get signal(): AbortSignal {
    return (this.#slot.ac ??= new AbortController()).signal;
  }

  emit(value: unknown): void {
    this.#runner.part(this.#slot, value);
  }
}

/** Results older than this are sent before another task starts, so slow tasks report promptly. */
const FLUSH_AFTER_MS = 1;
/** How long one event-loop turn may run synchronous tasks before yielding to I/O. */
const SLICE_MS = 4;
/** An aborted async task gets this long to settle before its lane is replaced. */
export const CANCEL_GRACE_MS = 1000;
/** A preparation's lane deadline lies this far past its own limit (see `arm`). */
const ARM_SLACK_MS = 1000;

export class Runner {
  private readonly fns: FnTable;
  /** Set while the task at the head of the queue waits for its function or setup. */
  private stalled = false;
  /** Bumped by reset, so a wait that ends after it does not resume an old queue. */
  private generation = 0;
  private queue: Queued[] = [];
  private head = 0;
  private pending: WireResult[] = [];
  private pendingBins: Uint8Array[] = [];
  private pendingSince = 0;
  /** Partial values emitted since the last flush; sent before `pending` in the same flush. */
  private parts: WirePart[] = [];
  private partBins: Uint8Array[] = [];
  private flushScheduled = false;
  private pumpScheduled = false;
  private running: Running | undefined;
  /** Queued runs by handle, so a cancel finds its run without a scan. */
  private readonly queuedRuns = new Map<number, Queued>();
  /** Whether the lane's deadline is a preparation's (import, setup), not a task's. */
  private armed = false;
  /** Called once the running task leaves the slot (setup values dropped meanwhile are disposed then). */
  private readonly idleWaiters = new Waiters();
  /** The asynchronous task whose result is being pushed, if it is one. */
  private measured: Running | undefined;

  constructor(
    private readonly send: Send,
    private readonly status: Float64Array,
    private readonly where: ErrorContext,
    private readonly onStuck: (reason: string) => void,
    /** This lane's CPU clock, where the platform gives one (see task-usage.ts). */
    private readonly cpu: CpuClock = undefined,
  ) {
    this.fns = new FnTable(new ArtifactCache((hash) => this.send({ t: 'need', hash })), where);
  }

  /** Handles one controller message. */
  handle(msg: ToAgent, bins: Buffer[]): void {
    switch (msg.t) {
      case 'fn': {
        const vals = Object.fromEntries(Object.entries(msg.spec.vals).map(([k, w]) => [k, unpackEncoded(w, bins)]));
        this.fns.define(msg.ref, { ...msg.spec, vals });
        return;
      }
      case 'art':
        this.fns.artifacts.received(msg.hash, msg.code);
        return;
      case 'unsetup':
        // The running task may be using a value: dispose it once that task has left the slot.
        void this.fns.setups.drop(msg.ids, this.idle());
        return;
      case 'drop':
        for (const ref of msg.refs) this.fns.delete(ref);
        return;
      case 'run':
        for (const task of msg.tasks) {
          const q: Queued = { task, bins };
          this.queue.push(q);
          this.queuedRuns.set(task[0], q);
        }
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
    this.idleWaiters.wake();
    this.armed = false;
    this.queue = [];
    this.head = 0;
    this.pending = [];
    this.pendingBins = [];
    this.parts = [];
    this.partBins = [];
    this.queuedRuns.clear();
    this.fns.clear();
    this.stalled = false;
    this.generation++;
    this.status[S.DEADLINE] = 0;
    this.status[S.BUSY] = 0;
  }

  /**
   * Answers every cancel with a result for that run, so the controller knows when the slot is
   * free: at once for a queued or unknown run, when it stops for the running one.
   */
  private cancel(run: number): void {
    if (this.running?.run === run) return this.abortRunning(new FlotillaError('CANCELLED', 'task cancelled'));
    const q = this.queuedRuns.get(run);
    if (q) {
      q.cancelled = true;
      this.queuedRuns.delete(run);
    }
    this.fail(run, performance.now(), new FlotillaError('CANCELLED', 'task cancelled'));
    this.scheduleFlush();
  }

  /**
   * Aborts the running task's signal. It keeps the slot until it settles; one that ignores its
   * signal for CANCEL_GRACE_MS has its lane replaced, which is the only way to stop its code.
   */
  private abortRunning(reason: FlotillaError): void {
    const r = this.running;
    if (!r || r.aborted) return;
    r.aborted = reason;
    clearTimeout(r.timer);
    r.ac?.abort(reason);
    const grace = setTimeout(() => {
      if (this.running === r) this.onStuck(`run ${r.run} (${reason.code}) did not stop within ${CANCEL_GRACE_MS} ms of its abort`);
    }, CANCEL_GRACE_MS);
    grace.unref();
  }

  private pump(): void {
    this.pumpScheduled = false;
    const sliceEnd = performance.now() + SLICE_MS;
    while (!this.running && !this.stalled && this.head < this.queue.length) {
      const q = this.queue[this.head]!;
      if (!q.cancelled) {
        const wait = this.fns.blocker(q.task[1], this.arm);
        if (wait) {
          this.stall(wait);
          break;
        }
        if (this.armed) this.disarm();
      }
      this.queue[this.head++] = undefined as never;
      if (q.cancelled) continue;
      this.queuedRuns.delete(q.task[0]);
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

  /**
   * Before a setup or an import may run user code: its limit becomes the lane's deadline, which
   * the supervisor enforces when that code blocks the thread (the setup's own timer cannot fire).
   * The supervisor allows a moment past it, so the lane's timer wins whenever it can run.
   */
  private readonly arm = (limitMs: number): void => {
    this.armed = true;
    this.status[S.DEADLINE] = Date.now() + limitMs + ARM_SLACK_MS;
  };

  private disarm(): void {
    this.armed = false;
    this.status[S.DEADLINE] = 0;
  }

  /** Resolves once no task holds the slot. */
  private idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return this.idleWaiters.wait();
  }

  /** Holds the queue until `wait` settles (a module import, a setup); results so far go out now. */
  private stall(wait: Promise<unknown>): void {
    this.stalled = true;
    const gen = this.generation;
    const resume = () => {
      if (gen !== this.generation) return;
      this.stalled = false;
      if (this.armed) this.disarm();
      this.schedulePump();
    };
    wait.then(resume, resume);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  private start({ task, bins }: Queued): void {
    const [run, fnRef, wireArg, timeoutMs, index, attempt] = task;
    const t0 = performance.now();
    this.status[S.RSS_PEAK] = this.status[S.RSS_NOW]!; // the supervisor raises it while the task runs
    if (this.pending.length > 0 && t0 - this.pendingSince > FLUSH_AFTER_MS) this.flush();
    const defined = this.fns.get(fnRef);
    if (!defined) return this.fail(run, t0, new FlotillaError('INTERNAL', `function ${fnRef} was not defined on this agent before its task`));
    const entry = defined.m;
    let setupValue: unknown;
    if (defined.setupId !== undefined && entry.setup) {
      const setup = entry.setup;
      const st = this.fns.setups.state(defined.setupId, () => setup(), defined.limitMs);
      if (st.error) return this.fail(run, t0, st.error);
      setupValue = st.value;
    }
    let arg: unknown;
    try {
      arg = decodeValue(unpackEncoded(wireArg, bins));
    } catch (err) {
      return this.fail(run, t0, FlotillaError.from(err, 'BAD_INPUT'));
    }
    const slot: Running = { run, t0, settled: false };
    const ctx = new Ctx(index, attempt, setupValue, slot, this);
    if (timeoutMs > 0) {
      // Tell the controller the clock starts now, before code that may never yield runs.
      this.flush(run);
      this.status[S.DEADLINE] = Date.now() + timeoutMs;
    }
    let out: unknown;
    try {
      out = entry.fn(arg, ctx);
    } catch (err) {
      this.status[S.DEADLINE] = 0;
      slot.settled = true;
      return this.fail(run, t0, err, entry.retryIf);
    }
    if (typeof (out as PromiseLike<unknown> | null)?.then !== 'function') {
      this.status[S.DEADLINE] = 0;
      slot.settled = true;
      return this.ok(run, t0, out);
    }
    this.running = slot;
    if (this.cpu) {
      slot.syncUs = (performance.now() - t0) * 1000;
      slot.cpu0 = this.cpu();
    }
    const settle = (ok: boolean, v: unknown) => {
      if (this.running !== slot) return; // the lane was reset meanwhile
      clearTimeout(slot.timer);
      this.running = undefined;
      this.idleWaiters.wake();
      slot.settled = true;
      this.status[S.DEADLINE] = 0;
      this.measured = slot;
      // An aborted task's own outcome is not wanted: its result is why it was aborted.
      if (slot.aborted) this.fail(run, t0, slot.aborted);
      else if (ok) this.ok(run, t0, v);
      else this.fail(run, t0, v, entry.retryIf);
      this.measured = undefined;
      this.schedulePump();
    };
    (out as PromiseLike<unknown>).then((v) => settle(true, v), (e) => settle(false, e));
    if (timeoutMs > 0) {
      slot.timer = setTimeout(() => this.abortRunning(new FlotillaError('TIMEOUT', `task timed out after ${timeoutMs} ms`, { context: { ...this.where, timedOut: true } })), timeoutMs);
    }
  }

  /**
   * A running task's `ctx.emit`: queued with the results, sent ahead of them in the next flush,
   * so it reaches the controller before its run's result. Dropped once the run has settled.
   * @throws FlotillaError TASK_ERROR when the value cannot be encoded.
   */
  part(slot: Running, value: unknown): void {
    if (slot.settled || slot.aborted) return;
    let enc;
    try {
      enc = encodeValue(value, 'the emitted value');
    } catch (err) {
      throw new FlotillaError('TASK_ERROR', `ctx.emit: the value cannot be sent: ${(err as Error).message}`);
    }
    this.parts.push([slot.run, packEncoded(enc, this.partBins)]);
    this.scheduleFlush();
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

  /** Reports a failed run; an error thrown by the task's code that `retryIf` accepts asks for a re-run. */
  private fail(run: number, t0: number, err: unknown, retryIf?: (err: unknown) => unknown): void {
    const durationMs = performance.now() - t0;
    const info = toErrorInfo(err, { ...this.where, durationMs });
    if (retryIf && !(err instanceof FlotillaError)) {
      try {
        if (retryIf(err)) info.action = 'retry';
      } catch (predErr) {
        info.context = { ...info.context, retryIfThrew: String(predErr) };
      }
    }
    // The error's context is the user's too: one the wire cannot carry must not break the frame.
    this.push([run, 0, boundedErrorInfo(info as unknown as Record<string, unknown>), Math.round(durationMs * 1000)]);
  }

  private push(r: WireResult): void {
    if (this.pending.length === 0) this.pendingSince = performance.now();
    // What it used: CPU µs (a synchronous task held its thread throughout: its duration; an
    // asynchronous one's clock is read around its awaits, where there is a clock, else -1) and
    // the agent's peak resident memory (KiB) while it ran.
    const m = this.measured;
    const cpuUs = m?.cpu0 === undefined ? (m ? -1 : r[3]) : Math.round(m.syncUs! + this.cpu!() - m.cpu0);
    r.push(cpuUs, Math.round(this.status[S.RSS_PEAK]! / 1024));
    this.pending.push(r);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || (this.pending.length === 0 && this.parts.length === 0)) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Sends pending parts, then results; `starting` marks a run whose timeout clock starts now. */
  private flush(starting?: number): void {
    // Parts first: a run's parts were emitted before its result was pushed.
    if (this.parts.length > 0) {
      this.send({ t: 'part', p: this.parts }, this.partBins);
      this.parts = [];
      this.partBins = [];
    }
    if (this.pending.length === 0 && starting === undefined) return;
    const msg: ToController = starting === undefined ? { t: 'res', r: this.pending } : { t: 'res', r: this.pending, s: starting };
    this.send(msg, this.pendingBins);
    this.pending = [];
    this.pendingBins = [];
  }
}

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
