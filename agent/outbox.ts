/**
 * What a slot's runner sends back to the controller: results and the parts tasks emit, batched.
 * Tiny synchronous tasks share one frame; a run's parts go out ahead of its result.
 */
import { encodeValue } from '../contract/codec.js';
import { FlotillaError } from '../contract/errors.js';
import type { ErrorContext } from '../contract/errors.js';
import { packEncoded } from '../contract/messages.js';
import type { ToController, WirePart, WireResult } from '../contract/messages.js';
import { boundedErrorInfo } from '../contract/bounds.js';
import { toErrorInfo } from './error-info.js';
import { S } from './lane-state.js';
import type { CpuClock } from './task-usage.js';
import type { PartSink, Running } from './task-slot.js';

/** Sends one message to the controller, with its binary parts. */
export type Send = (msg: ToController, bins?: Uint8Array[]) => void;

/** Results older than this are sent before another task starts, so slow tasks report promptly. */
const FLUSH_AFTER_MS = 1;

/** One slot's results and emitted parts, batched on their way to the controller. */
export class Outbox implements PartSink {
  private pending: WireResult[] = [];
  private pendingBins: Uint8Array[] = [];
  private pendingSince = 0;
  /** Partial values emitted since the last flush; sent before `pending` in the same flush. */
  private parts: WirePart[] = [];
  private partBins: Uint8Array[] = [];
  private flushScheduled = false;
  /** The asynchronous task whose result is being pushed, if it is one. */
  measured: Running | undefined;

  constructor(
    private readonly send: Send,
    private readonly status: Float64Array,
    private readonly where: ErrorContext,
    /** This lane's CPU clock, where the platform gives one (see task-usage.ts). */
    private readonly cpu: CpuClock,
  ) {}

  /** Before a task starts at `now`: results waiting longer than FLUSH_AFTER_MS go out first. */
  flushIfStale(now: number): void {
    if (this.pending.length > 0 && now - this.pendingSince > FLUSH_AFTER_MS) this.flush();
  }

  /** Drops what was not sent: the channel went away. */
  clear(): void {
    this.pending = [];
    this.pendingBins = [];
    this.parts = [];
    this.partBins = [];
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

  /** Reports a run's returned value (a TASK_ERROR when it cannot be encoded). */
  ok(run: number, t0: number, value: unknown): void {
    let enc;
    try {
      enc = encodeValue(value, 'the returned value');
    } catch (err) {
      return this.fail(run, t0, new FlotillaError('TASK_ERROR', `the task's result cannot be sent: ${(err as Error).message}`));
    }
    this.push([run, 1, packEncoded(enc, this.pendingBins), Math.round((performance.now() - t0) * 1000)]);
  }

  /** Reports a failed run; an error thrown by the task's code that `retryIf` accepts asks for a re-run. */
  fail(run: number, t0: number, err: unknown, retryIf?: (err: unknown) => unknown): void {
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

  /** Flushes at the end of this turn, when anything waits to be sent. */
  scheduleFlush(): void {
    if (this.flushScheduled || (this.pending.length === 0 && this.parts.length === 0)) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Sends pending parts, then results; `starting` marks a run whose timeout clock starts now. */
  flush(starting?: number): void {
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
