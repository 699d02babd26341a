/**
 * A durable job's arguments: stored in chunks as they arrive (one row per submitted chunk), read
 * back a chunk at a time as tasks are dispatched; only running tasks' arguments stay in memory.
 */
import type { Encoded } from '../../contract/codec.js';
import type { ArgumentSource } from '../jobs/arguments.js';
import type { JobStore } from './job-store.js';

export class StoredArguments implements ArgumentSource {
  /** The stored chunk fresh tasks are being taken from. */
  private window: { first: number; args: Encoded[] } | undefined;
  /** Arguments of tasks being dispatched or running. */
  private readonly live = new Map<number, Encoded>();

  constructor(private readonly store: JobStore, private readonly jobId: string) {}

  append(offset: number, args: readonly Encoded[]): void {
    this.store.appendArgs(this.jobId, offset, args);
  }

  hold(index: number): void {
    if (this.live.has(index)) return;
    const w = this.window;
    if (!w || index < w.first || index >= w.first + w.args.length) this.window = this.store.argsChunk(this.jobId, index);
    this.live.set(index, this.window!.args[index - this.window!.first]!);
  }

  get(index: number): Encoded | undefined {
    return this.live.get(index);
  }

  drop(index: number): void {
    this.live.delete(index);
  }

  discard(): void {
    this.window = undefined;
    this.live.clear();
    this.store.dropArgs(this.jobId);
  }
}
