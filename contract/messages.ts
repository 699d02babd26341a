/**
 * The messages inside sealed frames. Controller and agent both import these types; the `t`
 * field names the message. Task and result lists are tuples, not objects, because a frame may
 * carry thousands of tiny tasks and every key name would be paid for on each one.
 */
import type { Encoded } from './codec.js';
import { FlotillaError } from './errors.js';
import type { ErrorInfo } from './errors.js';
import type { FnSpec } from './fnspec.js';

/** An Encoded value on the wire: its binary parts moved into the frame's attachments. */
export interface WireEncoded {
  j: unknown;
  m?: unknown;
  /** Indices into the frame's attachments. */
  b?: number[];
}

/**
 * A task as dispatched: [run handle, function ref, argument, timeout ms (0: none), task index,
 * attempt]. The function ref is the small number its `fn` message gave it on this connection,
 * not the 64-character content hash, which would be most of a tiny task's bytes.
 */
export type WireTask = [run: number, fnRef: number, arg: WireEncoded, timeoutMs: number, index: number, attempt: number];

/**
 * A result: [run handle, 1 = ok / 0 = error, value or error, duration in microseconds, CPU time in
 * microseconds (-1: not measured), the agent's peak resident memory while it ran in KiB].
 */
export type WireResult =
  | [run: number, ok: 1, value: WireEncoded, durationUs: number, cpuUs?: number, peakRssKb?: number]
  | [run: number, ok: 0, error: ErrorInfo, durationUs: number, cpuUs?: number, peakRssKb?: number];

/**
 * A partial value a running task emitted (`ctx.emit`): [run handle, value]. Sent before that
 * run's result, never after; the controller drops those of runs it no longer expects.
 */
export type WirePart = [run: number, value: WireEncoded];

/** Controller to agent lane. */
export type ToAgent =
  /** Defines a function before any task that uses it, once per connection. */
  | { t: 'fn'; ref: number; spec: Omit<FnSpec, 'vals'> & { vals: Record<string, WireEncoded> } }
  | { t: 'run'; tasks: WireTask[] }
  /** Aborts running or queued runs. Each gets one result back, sent once its slot is free. */
  | { t: 'cancel'; runs: number[] }
  /** Forgets functions no unfinished job uses any more. */
  | { t: 'drop'; refs: number[] }
  /** The controller is closing: finish nothing, exit. */
  | { t: 'shutdown'; reason: string }
  /**
   * To an agent's control connection: replace this lane, whose aborted task will not stop.
   * `thread` names the lane's thread (from its `ready`): a lane the agent has already replaced
   * is not replaced again, so the fresh thread in its slot keeps its tasks.
   */
  | { t: 'recycle'; lane: number; thread?: number; reason: string }
  /**
   * A module artifact, sent before the first `fn` that needs it, to one lane per agent (its lanes
   * share a disk cache), or in answer to `need`. No `code`: the controller does not have it.
   */
  | { t: 'art'; hash: string; code?: string }
  /** Drops (disposes) setup values: those of these setup ids, or all. */
  | { t: 'unsetup'; ids?: string[] };

/** Agent lane to controller. */
export type ToController =
  /**
   * A lane is connected; `thread` is its thread's id in the agent (a slot's replacement thread has
   * a new one); `arts` are the artifact hashes already in the agent's disk cache.
   */
  | { t: 'ready'; slots: number; lane: number; thread?: number; pid: number; host: string; node: string; platform: string; pool?: string; arts?: string[] }
  /** A lane needs an artifact that another lane of its agent was sent but has not written (yet). */
  | { t: 'need'; hash: string }
  /** Results, and the run now starting when it has a timeout (so the controller's clock starts). */
  | { t: 'res'; r: WireResult[]; s?: number }
  /** Partial values of running tasks, in emission order; always sent ahead of their runs' results. */
  | { t: 'part'; p: WirePart[] }
  | { t: 'hb'; running: number; queued: number; rssBytes: number; cpuUs?: number }
  /**
   * First message of an agent's control connection, dialled by its supervisor thread (never
   * blocked by task code): its liveness is the agent's, and it takes `recycle` and `shutdown`.
   */
  | { t: 'ctl'; pid: number; host: string; slots: number }
  /**
   * On the control connection: a lane's thread died under a task (an uncaught exception, an
   * unhandled rejection, `process.exit` in task code). The controller names this cause, and the
   * lane's last stderr lines, in the failure of the task that was running there.
   */
  | { t: 'lane-end'; lane: number; exitCode: number; cause: string; stderrTail: string };

/** Moves an Encoded's binary parts into `bins` (frame attachments). */
export function packEncoded(e: Encoded, bins: Uint8Array[]): WireEncoded {
  if (!e.b || e.b.length === 0) return e.m === undefined ? { j: e.j } : { j: e.j, m: e.m };
  const idx: number[] = [];
  for (const b of e.b) idx.push(bins.push(b) - 1);
  return { j: e.j, m: e.m, b: idx };
}

/** Inverse of `packEncoded` on the receiving side; throws BAD_INPUT for a reference to a missing attachment. */
export function unpackEncoded(w: WireEncoded, bins: readonly Uint8Array[]): Encoded {
  if (!w.b) return w as Encoded;
  if (!Array.isArray(w.b)) throw new FlotillaError('BAD_INPUT', 'an encoded value whose binary parts are not a list');
  const b: Uint8Array[] = [];
  for (const i of w.b) {
    const part = Number.isInteger(i) ? bins[i] : undefined;
    if (!part) throw new FlotillaError('BAD_INPUT', `an encoded value refers to attachment ${String(i)}, but the frame has ${bins.length}`);
    b.push(part);
  }
  return { j: w.j, m: w.m, b };
}
