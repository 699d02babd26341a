/**
 * A durable job's arguments: stored in chunks as they arrive (one row per submitted chunk), read
 * back a chunk at a time as tasks are dispatched; only running tasks' arguments stay in memory.
 */
import type { Encoded } from '../../contract/codec.js';
import type { ArgumentSource } from '../jobs/arguments.js';
import type { JobStore } from './job-store.js';

/** The stored chunk fresh tasks are being taken from, and which of its tasks are being dispatched or running. */
interface Window {
  first: number;
  args: readonly Encoded[];
  held: Uint8Array;
}

/** A chunk as it was appended, kept until the window reaches it. */
interface Fresh {
  first: number;
  args: readonly Encoded[];
  bytes: number;
}

/**
 * Stored size of the chunks kept as they were appended, at most: the window mostly moves to a
 * chunk appended shortly before, which then need not be read back and unpacked.
 */
const FRESH_BYTES = 4 << 20;

export class StoredArguments implements ArgumentSource {
  private window: Window | undefined;
  /**
   * Arguments of tasks being dispatched or running that are not held in the window (the window
   * moved on, or a task sent back was taken from another chunk). Tasks are mostly taken in
   * order, so most live in the window and cost a byte there rather than an entry here.
   */
  private readonly live = new Map<number, Encoded>();
  /** Chunks appended lately, oldest first, FRESH_BYTES of stored size at most. */
  private fresh: Fresh[] = [];
  private freshBytes = 0;

  constructor(private readonly store: JobStore, private readonly jobId: string) {}

  append(offset: number, args: readonly Encoded[]): void {
    const bytes = this.store.appendArgs(this.jobId, offset, args);
    // A chunk with binary parts is not kept: they may be views of the whole frame they came in.
    if (bytes > FRESH_BYTES || args.some((a) => a.b !== undefined)) return;
    this.fresh.push({ first: offset, args, bytes });
    this.freshBytes += bytes;
    while (this.freshBytes > FRESH_BYTES) this.freshBytes -= this.fresh.shift()!.bytes;
  }

  hold(index: number): void {
    let w = this.window;
    if (!w || index < w.first || index >= w.first + w.args.length) {
      if (this.live.has(index)) return;
      w = this.move(index);
    }
    w.held[index - w.first] = 1;
  }

  get(index: number): Encoded | undefined {
    const w = this.window;
    const at = w ? index - w.first : -1;
    if (w && at >= 0 && at < w.args.length && w.held[at]) return w.args[at];
    return this.live.get(index);
  }

  drop(index: number): void {
    const w = this.window;
    const at = w ? index - w.first : -1;
    if (w && at >= 0 && at < w.args.length) w.held[at] = 0;
    // A task can be held both here and in `live` (sent back before the window came back to its chunk).
    if (this.live.size > 0) this.live.delete(index);
  }

  discard(): void {
    this.window = undefined;
    this.live.clear();
    this.fresh = [];
    this.freshBytes = 0;
    this.store.dropArgs(this.jobId);
  }

  /** The chunk holding task `index`, kept or read back; the tasks the old window held keep their arguments in `live`. */
  private move(index: number): Window {
    const k = this.fresh.findIndex((f) => index >= f.first && index < f.first + f.args.length);
    let chunk: { first: number; args: readonly Encoded[] };
    if (k < 0) chunk = this.store.argsChunk(this.jobId, index);
    else {
      chunk = this.fresh.splice(k, 1)[0]!;
      this.freshBytes -= (chunk as Fresh).bytes;
    }
    const old = this.window;
    if (old) for (let i = 0; i < old.held.length; i++) if (old.held[i]) this.live.set(old.first + i, old.args[i]!);
    return (this.window = { first: chunk.first, args: chunk.args, held: new Uint8Array(chunk.args.length) });
  }
}
