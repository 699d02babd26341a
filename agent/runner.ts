/**
 * One slot's task loop inside a lane: runs tasks one at a time in arrival order, sends results
 * back in batches. Tiny synchronous tasks run many per event-loop turn and share one frame;
 * a slow task's result goes out as soon as it is ready.
 */
import { decodeValue } from '../contract/codec.js';
import { FlotillaError } from '../contract/errors.js';
import type { ErrorContext } from '../contract/errors.js';
import { unpackEncoded } from '../contract/messages.js';
import type { ToAgent, WireTask } from '../contract/messages.js';
import { ArtifactCache } from './artifacts.js';
import { FnTable } from './fn-table.js';
import { registerBuiltins } from './builtin-table.js';
import { BUILTINS } from './builtins.js';
import { Outbox } from './outbox.js';
import type { Send } from './outbox.js';
import { Ctx } from './task-slot.js';
import type { Running } from './task-slot.js';
import { S } from './lane-state.js';
import { Waiters } from '../contract/waiters.js';
import type { CpuClock } from './task-usage.js';

// Specs may name the agent's builtins (a flow unit) from the first task on.
registerBuiltins(BUILTINS);

type Queued = { task: WireTask; bins: Buffer[]; cancelled?: boolean };

/** How long one event-loop turn may run synchronous tasks before yielding to I/O. */
const SLICE_MS = 4;
/** An aborted async task gets this long to settle before its lane is replaced. */
export const CANCEL_GRACE_MS = 1000;
/** A preparation's lane deadline lies this far past its own limit (see `arm`). */
const ARM_SLACK_MS = 1000;

export class Runner {
  private readonly fns: FnTable;
  /** Results and emitted parts on their way to the controller. */
  private readonly out: Outbox;
  /** Set while the task at the head of the queue waits for its function or setup. */
  private stalled = false;
  /** Bumped by reset, so a wait that ends after it does not resume an old queue. */
  private generation = 0;
  private queue: Queued[] = [];
  private head = 0;
  private pumpScheduled = false;
  private running: Running | undefined;
  /** Queued runs by handle, so a cancel finds its run without a scan. */
  private readonly queuedRuns = new Map<number, Queued>();
  /** Whether the lane's deadline is a preparation's (import, setup), not a task's. */
  private armed = false;
  /** Called once the running task leaves the slot (setup values dropped meanwhile are disposed then). */
  private readonly idleWaiters = new Waiters();

  constructor(
    send: Send,
    private readonly status: Float64Array,
    private readonly where: ErrorContext,
    private readonly onStuck: (reason: string) => void,
    /** This lane's CPU clock, where the platform gives one (see task-usage.ts). */
    private readonly cpu: CpuClock = undefined,
  ) {
    this.out = new Outbox(send, status, where, cpu);
    this.fns = new FnTable(new ArtifactCache((hash) => send({ t: 'need', hash })), where);
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
    this.out.clear();
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
    this.out.fail(run, performance.now(), new FlotillaError('CANCELLED', 'task cancelled'));
    this.out.scheduleFlush();
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
    if (this.head === this.queue.length) this.out.flush();
    else this.out.scheduleFlush();
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
    this.out.flushIfStale(t0);
    const defined = this.fns.get(fnRef);
    if (!defined) return this.out.fail(run, t0, new FlotillaError('INTERNAL', `function ${fnRef} was not defined on this agent before its task`));
    const entry = defined.m;
    let setupValue: unknown;
    if (defined.setupId !== undefined && entry.setup) {
      const setup = entry.setup;
      const st = this.fns.setups.state(defined.setupId, () => setup(), defined.limitMs);
      if (st.error) return this.out.fail(run, t0, st.error);
      setupValue = st.value;
    }
    let arg: unknown;
    try {
      arg = decodeValue(unpackEncoded(wireArg, bins));
    } catch (err) {
      return this.out.fail(run, t0, FlotillaError.from(err, 'BAD_INPUT'));
    }
    const slot: Running = { run, t0, settled: false };
    const ctx = new Ctx(index, attempt, setupValue, slot, this.out);
    if (timeoutMs > 0) {
      // Tell the controller the clock starts now, before code that may never yield runs.
      this.out.flush(run);
      this.status[S.DEADLINE] = Date.now() + timeoutMs;
    }
    let out: unknown;
    try {
      out = entry.fn(arg, ctx);
    } catch (err) {
      this.status[S.DEADLINE] = 0;
      slot.settled = true;
      return this.out.fail(run, t0, err, entry.retryIf);
    }
    if (typeof (out as PromiseLike<unknown> | null)?.then !== 'function') {
      this.status[S.DEADLINE] = 0;
      slot.settled = true;
      return this.out.ok(run, t0, out);
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
      this.out.measured = slot;
      // An aborted task's own outcome is not wanted: its result is why it was aborted.
      if (slot.aborted) this.out.fail(run, t0, slot.aborted);
      else if (ok) this.out.ok(run, t0, v);
      else this.out.fail(run, t0, v, entry.retryIf);
      this.out.measured = undefined;
      this.schedulePump();
    };
    (out as PromiseLike<unknown>).then((v) => settle(true, v), (e) => settle(false, e));
    if (timeoutMs > 0) {
      slot.timer = setTimeout(() => this.abortRunning(new FlotillaError('TIMEOUT', `task timed out after ${timeoutMs} ms`, { context: { ...this.where, timedOut: true } })), timeoutMs);
    }
  }
}
