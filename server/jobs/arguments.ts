/**
 * Where a job's task arguments are kept until their tasks finish. In memory, every unfinished
 * task's argument; with the durable store (server/store/stored-arguments.ts), chunks in SQLite,
 * read back as tasks are dispatched, only running tasks' arguments held in memory.
 */
import type { Encoded } from '../../contract/codec.js';

/** A job's task arguments, by task index. */
export interface ArgumentSource {
  /** Keeps the arguments of tasks [offset, offset + args.length). */
  append(offset: number, args: readonly Encoded[]): void;
  /** Readies task `index`'s argument for a dispatch (may throw: the task is then not taken). */
  hold(index: number): void;
  /** The argument of a task being dispatched or running. */
  get(index: number): Encoded | undefined;
  /** Task `index` finished: its argument is no longer needed. */
  drop(index: number): void;
  /** The job finished: every argument goes, kept or stored. */
  discard(): void;
}

/** Every argument in memory, until its task finishes. */
export class MemoryArguments implements ArgumentSource {
  private args: (Encoded | undefined)[];

  constructor(total: number) {
    this.args = new Array(total);
  }

  append(offset: number, args: readonly Encoded[]): void {
    for (let i = 0; i < args.length; i++) this.args[offset + i] = args[i];
  }

  hold(): void {}

  get(index: number): Encoded | undefined {
    return this.args[index];
  }

  drop(index: number): void {
    this.args[index] = undefined;
  }

  discard(): void {
    this.args = [];
  }
}
