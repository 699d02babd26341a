/**
 * A task in its slot: what the runner keeps about the one task running there, and the context
 * (`ctx`) the task's function is given.
 */
import type { FlotillaError } from '../contract/errors.js';
import type { TaskContext } from '../contract/task-context.js';

/** The task in the slot. After an abort it keeps the slot until it really stops. */
export interface Running {
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

/** Where a running task's `ctx.emit` values go (the outbox). */
export interface PartSink {
  part(slot: Running, value: unknown): void;
}

/**
 * A task's context. A class, not a literal: its getter and `emit` live on the prototype, so a
 * task costs one object here however many methods the context grows.
 */
export class Ctx implements TaskContext {
  readonly #slot: Running;
  readonly #parts: PartSink;
  constructor(readonly index: number, readonly attempt: number, readonly setup: unknown, slot: Running, parts: PartSink) {
    this.#slot = slot;
    this.#parts = parts;
  }

  get signal(): AbortSignal {
    return (this.#slot.ac ??= new AbortController()).signal;
  }

  emit(value: unknown): void {
    this.#parts.part(this.#slot, value);
  }
}
